"""What the backends of networks trained inside the DAG share (digits.py, gmm.py): the network and
training keys, the checkpoint the sampling jobs read, the EDM schedule and the sample-quality table.

The network is entropic.networks.mlp.EDMPrecond, trained by entropic.networks.training (EDM, Karras et al. 2022,
arXiv:2206.00364) as the conditional and, through label dropout to a null label, the unconditional
denoiser, on the CPU.
"""

import numpy as np

from entropic.theory import noise
from entropic.files import paths
from .base import Backend, Model, schedule_study_schema

#----------------------------------------------------------------------------

SCHEMA = {
    'network': {
        'description': 'The denoiser network (entropic.networks.mlp.EDMPrecond), EDM-preconditioned.',
        'type': 'object', 'additionalProperties': False, 'default': {},
        'properties': {
            'width': {'description': 'Hidden width of the residual MLP.', 'type': 'integer', 'minimum': 8, 'default': 256},
            'blocks': {'description': 'Residual blocks.', 'type': 'integer', 'minimum': 1, 'default': 3},
        },
    },
    'training': {
        'description': ('EDM training (entropic.networks.training): one network is the conditional and, through label '
                        'dropout to a null label, the unconditional denoiser.'),
        'type': 'object', 'additionalProperties': False, 'default': {},
        'properties': {
            'steps': {'description': 'Optimiser steps.', 'type': 'integer', 'minimum': 1, 'default': 2500},
            'batch_size': {'description': 'Samples per step.', 'type': 'integer', 'minimum': 1, 'default': 256},
            'learning_rate': {'description': 'Adam learning rate.', 'type': 'number', 'exclusiveMinimum': 0,
                              'default': 0.002},
            'label_dropout': {'description': 'Probability that a label is replaced by the null label (the '
                                             'unconditional model).',
                              'type': 'number', 'minimum': 0, 'exclusiveMaximum': 1, 'default': 0.15},
            'ema_halflife': {'description': "Half-life of the exponential moving average of the weights, in "
                                            "training samples (EDM2's convention).",
                             'type': 'number', 'exclusiveMinimum': 0, 'default': 50000},
        },
    },
}

SCHEMA['cloning'] = {
    'description': ("Biroli et al.'s cloning experiment on this network (entropic.studies.cloning): unconditional trajectories "
                    'of its sampler branched at each level into two continuations with independent noise, both ends '
                    "classified by the backend's reference classifier, the agreement rate against the tracker's "
                    'phi = E sum_c p(c | x)^2 of the unguided `classes` curve (figure and table <model>_clone_agreement). '
                    'Absent: no cloning.'),
    'type': 'object', 'additionalProperties': False,
    'properties': {
        'pairs': {'description': 'Clone pairs per level (the binomial standard error is at most 0.5 / sqrt(pairs)).',
                  'type': 'integer', 'minimum': 10, 'default': 1000},
        'levels': {'description': ("Noise levels (EDM sigma) to branch at, each moved to the nearest level of the "
                                   "model's sampler grid (where the tracker's curve is read); distinct grid levels."),
                   'type': 'array', 'items': {'type': 'number', 'exclusiveMinimum': 0}, 'minItems': 1,
                   'default': [0.25, 0.5, 1.0, 2.0, 4.0]},
    },
}

SCHEMA['schedule_study'] = schedule_study_schema(
    'Forward-noised training samples per level.',
    'measured by the reference classifier (accuracy of the class-conditional ones, the class histogram of the '
    'unconditional ones against uniform) and by the Frechet distance to the training set in the features of a '
    'classifier trained on it')

def reference_schema(description, samples):
    """The `reference` key: the exact curve's noise levels, and Monte Carlo samples where it needs them."""
    properties = {'levels': {'description': 'Noise levels, log-uniform over the sampler\'s range.',
                             'type': 'integer', 'minimum': 8, 'default': 48}}
    if samples:
        properties['samples'] = {'description': 'Monte Carlo samples per partition (each a whole curve).',
                                 'type': 'integer', 'minimum': 16, 'default': 1024}
    return {'description': description, 'type': 'object', 'additionalProperties': False, 'default': {},
            'properties': properties}

class TrainedBackend(Backend):
    """A network trained in the DAG on the backend's data (`training_data`), sampled on the CPU."""

    trains = True
    study_metric = None
    schedule_x0 = 'training'

    def network_files(self, model, spec, run):
        return {'checkpoint': paths.checkpoint(model)}

    def load(self, spec, files, hypotheses, device='cpu'):
        from entropic.networks import mlp
        net, meta = mlp.load_checkpoint(files['checkpoint'])
        labels = list(hypotheses)
        if meta['num_classes'] != len(labels):
            raise ValueError(f"{files['checkpoint']}: a network of {meta['num_classes']} classes, but the model has "
                             f'{len(labels)} hypotheses; retrain it')
        return Model(mlp.NetworkDenoiser(net.to(device)), labels, (net.dim,), noise.EDMSchedule(), device)

    def sample_quality(self, data, seed):
        """accuracy of a reference classifier of the data (`classify`) and the share of near-copies of
        training samples (`near_copies`, NaN where not measured)."""
        classify = self.classifier(data, seed)

        def measure(x, labels):
            return dict(accuracy=float((classify(x) == labels).mean()), near_copies=self.near_copies(data, x))
        return measure

    def schedule_metrics(self, spec, files, data, seed, log):
        """measure(x [N, d], labels [N]) -> {metric: value} of one set of samples, for the schedule study
        (entropic.studies.schedule_study.network_study), from the training data alone (`spec`, `files`, `log` unread):
        `fd`, the Frechet distance from their Gaussian to the training set's in the hidden features of a
        classifier trained on it (sample_metrics.feature_network, the space of the digits guidance study); with it,
        for class-conditional samples (labels >= 0) the reference classifier's `accuracy`, and for unconditional
        ones (every label UNCONDITIONAL) `histogram_kl`, KL(f || uniform) in nats of the classes that classifier
        assigns them."""
        from entropic.studies import sample_metrics
        from entropic.theory.partitions import UNCONDITIONAL
        classify = self.classifier(data, seed)
        x_real, labels_real = data.x.numpy(), data.labels.numpy()
        net = sample_metrics.feature_network(x_real, labels_real, seed=seed)
        real = sample_metrics.features(net, x_real)
        mean, cov = real.mean(0), np.cov(real, rowvar=False)

        def measure(x, labels):
            labels = np.asarray(labels)
            out = dict(fd=sample_metrics.frechet_distance_of_samples(sample_metrics.features(net, x), mean, cov))
            predicted = classify(x)
            if np.all(labels == UNCONDITIONAL):
                f = np.bincount(predicted, minlength=data.num_classes) / len(predicted)
                out['histogram_kl'] = float(np.log(data.num_classes) + np.sum(f[f > 0] * np.log(f[f > 0])))
            else:
                out['accuracy'] = float(np.mean(predicted == labels))
            return out
        return measure

    def classifier(self, data, seed):
        """x [N, d] numpy -> predicted labels [N]."""
        raise NotImplementedError

    def near_copies(self, data, x):
        return float('nan')
