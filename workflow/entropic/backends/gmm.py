"""A network trained inside the DAG on samples of a Gaussian-mixture experiment (the config's gmm.experiments).

Its data distribution is known exactly, so its curves are measured against the mixture's exact entropy
(entropic.theory.exact) and against the paper's tracker run with the mixture's exact denoiser on the same grid
(rule model_exact_tracker): the first difference is the network's error, the second the tracker's
discretisation bias. Samples are judged by the mixture's exact Bayes classifier and, in the guidance study,
by the exact KL to the true components.
"""

import numpy as np

from entropic.theory import mixtures
from entropic.files import store, paths
from .base import Data
from .trained import SCHEMA, TrainedBackend, reference_schema

#----------------------------------------------------------------------------

class GMMBackend(TrainedBackend):
    name = 'gmm'
    description = 'a network trained on samples of a Gaussian-mixture experiment (gmm.experiments), on the CPU'
    schema = {
        'experiment': {'description': ('(required) the Gaussian-mixture experiment whose samples train the network; '
                                       'its exact curves are the reference.'), 'type': 'string'},
        'train_samples': {'description': 'Number of training samples drawn from the mixture.', 'type': 'integer',
                          'minimum': 10, 'default': 2000},
        **SCHEMA,
        'reference': reference_schema("The reference curve: the mixture's exact entropy.", samples=False),
    }
    required = ('experiment',)
    reference = 'exact'
    reference_label = 'mixture, exact'
    study_metric = 'kl'
    exact_tracker = True      # rule model_exact_tracker: the tracker with the mixture's exact denoiser
    data_keys = ('experiment', 'train_samples')

    def check(self, spec, key, config, root):
        experiments = config['gmm']['experiments']
        if spec['experiment'] not in experiments:
            return [f"config key {key}.experiment: unknown experiment {spec['experiment']!r}; "
                    f"experiments: {', '.join(experiments)}"]
        return []

    def hypotheses(self, spec, config, root):
        K = mixtures.experiment_components(config['gmm']['experiments'][spec['experiment']])
        return {k: f'component {k}' for k in range(K)}

    def data_files(self, spec, config):
        return paths.mixture(spec['experiment'])

    def partition_files(self, spec, config, root):
        return {'file': paths.partitions(paths.GMM, spec['experiment'])}

    def partitions(self, spec, files):
        return {name: entry['cells'] for name, entry in store.read_json(files['file']).items()}

    def mixture(self, files):
        return mixtures.load_mixture(files['means'], store.read_json(files['mixture']))

    def training_data(self, spec, files, seed):
        import torch
        mixture = self.mixture(files)
        x, z = mixture.sample(spec['train_samples'], np.random.default_rng(seed))
        return Data(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(z, dtype=torch.long),
                    mixture.num_components, mixture)

    def top_eigenvalue(self, data, labels):
        # the mixture's own covariance: a sample covariance in d dimensions is biased upward
        return data.mixture.restrict(labels).covariance_top_eigenvalue()

    def reference_curve(self, data, cells, sigmas, settings, rng):
        from entropic.theory import exact
        hypotheses = exact.Hypotheses.from_partition(data.mixture.weights, cells)
        return exact.exact_entropy_curve(data.mixture.project(), sigmas, hypotheses, settings['points'],
                                         settings['replicates'], rng)

    def classifier(self, data, seed):
        return lambda x: data.mixture.log_posterior(np.asarray(x), 0.0).argmax(-1)

    def study_files(self, spec, config):
        return self.data_files(spec, config)

    def study_metrics(self, spec, files, data, seed, log, metrics=None):
        from entropic.studies import sample_metrics
        mixture = self.mixture(files)
        measure = sample_metrics.only(lambda a, b: sample_metrics.mixture_metrics(mixture, a, b), metrics)
        return lambda x, labels, folds: sample_metrics.replicate_metrics(measure, x, labels, folds)

BACKEND = GMMBackend()
