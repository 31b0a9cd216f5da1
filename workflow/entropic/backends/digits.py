"""The embedded default: a network trained inside the DAG on scikit-learn's bundled 8x8 digits.

1,797 real images in ten classes, shipped with scikit-learn, so nothing is downloaded (entropic.digits).
Its exact reference is the training set itself as a mixture of point masses (entropic.empirical): what a
network that memorised it would give. Samples are judged by an SVC trained on the real digits
(entropic.quality) and the guidance study measures them in a real-digit classifier's features.
"""

import numpy as np

from .. import digits, partitions
from .base import Data, file_errors, resolve
from .trained import SCHEMA, TrainedBackend, reference_schema

#----------------------------------------------------------------------------

class DigitsBackend(TrainedBackend):
    name = 'digits'
    description = ("a network trained on scikit-learn's bundled 8x8 digits (1,797 images, 10 classes, pixels "
                   'scaled to [-1, 1]), on the CPU')
    schema = {
        'partitions': {
            'description': ('(required) a YAML file of named partitions of the digits (cells of class indices; -1 '
                            'is the unconditional reference), relative to the project root; `classes` and '
                            '`<k>-vs-reference` for every digit are always built.'),
            'type': 'string'},
        **SCHEMA,
        'reference': reference_schema('The reference curve: the exact entropy of the training set as a mixture '
                                      'of point masses.', samples=True),
    }
    required = ('partitions',)
    hypothesis_file = 'partitions'
    reference = 'empirical'
    reference_label = 'training set, exact'
    figures = ('samples', 'speciation')
    study_metric = 'fd'

    def check(self, spec, key, config, root):
        return file_errors(spec, 'partitions', key, root,
                           lambda path: partitions.read_partition_file(path, digits.NUM_CLASSES))

    def hypotheses(self, spec, config, root):
        return {k: str(k) for k in range(digits.NUM_CLASSES)}

    def partition_files(self, spec, config, root):
        return {'file': str(resolve(root, spec['partitions']))}

    def partitions(self, spec, files):
        return partitions.read_partition_file(files['file'], digits.NUM_CLASSES)

    def training_data(self, spec, files, seed):
        x, labels = digits.load_digits()
        return Data(x, labels, digits.NUM_CLASSES)

    def top_eigenvalue(self, data, labels):
        from .. import empirical
        return empirical.top_eigenvalue(data.x.numpy()[np.isin(data.labels.numpy(), labels)])

    def reference_curve(self, data, cells, sigmas, settings, rng):
        from .. import empirical
        hypotheses = empirical.class_hypotheses(data.labels.numpy(), cells)
        return empirical.empirical_entropy_curve(data.x.double().numpy(), hypotheses, sigmas, settings['samples'], rng)

    def classifier(self, data, seed):
        from .. import quality
        clf = quality.reference_classifier(data.x.numpy(), data.labels.numpy(), seed)
        return lambda x: clf.predict(quality.as_rows(x))

    def near_copies(self, data, x):
        from .. import quality
        return quality.nearest_copies(x, data.x.numpy())

    def study_metrics(self, spec, files, data, seed, log, metrics=None):
        from .. import guidance_study as G, quality
        x_real, labels_real = data.x, data.labels
        reference = G.FeatureReference(G.feature_network(x_real.numpy(), labels_real.numpy(), seed=seed),
                                       quality.reference_classifier(x_real, labels_real), x_real.numpy(),
                                       labels_real.numpy())
        k = spec['guidance_study']['neighbours']
        measure = G.only(lambda a, b: G.feature_metrics(reference, a, b, k=k), metrics)
        return lambda x, labels, folds: G.replicate_metrics(measure, x, labels, folds)

BACKEND = DigitsBackend()
