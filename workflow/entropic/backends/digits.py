"""The embedded default: a network trained inside the DAG on scikit-learn's bundled 8x8 digits.

1,797 real grey-level images in ten classes, 8x8 pixels with values 0..16 (scikit-learn's bundled copy of the
UCI set), so nothing is downloaded; pixels are mapped to [-1, 1] by x = pixel / 8 - 1 and flattened row-major.
Its exact reference is the training set itself as a mixture of point masses (entropic.theory.point_masses): what a
network that memorised it would give. Samples are judged by an SVC trained on the real digits
(entropic.studies.quality) and the guidance study measures them in a real-digit classifier's features.
"""

import numpy as np

from entropic.theory import partitions
from .base import Data, file_errors, resolve
from .trained import SCHEMA, TrainedBackend, reference_schema

IMAGE_SHAPE = (8, 8)    # rows, columns of one image
NUM_CLASSES = 10        # the digits 0..9

#----------------------------------------------------------------------------

def load_digits():
    """All digits: x [1797, 64] float32 in [-1, 1], labels [1797] long in 0..9."""
    import torch                        # here, so that the constants import without torch (config validation)
    from sklearn import datasets
    bunch = datasets.load_digits()
    x = torch.as_tensor(bunch.data / 8 - 1, dtype=torch.float32)       # pixels 0..16 -> [-1, 1]
    labels = torch.as_tensor(bunch.target, dtype=torch.long)
    return x, labels

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
                           lambda path: partitions.read_partition_file(path, NUM_CLASSES))

    def hypotheses(self, spec, config, root):
        return {k: str(k) for k in range(NUM_CLASSES)}

    def partition_files(self, spec, config, root):
        return {'file': str(resolve(root, spec['partitions']))}

    def partitions(self, spec, files):
        return partitions.read_partition_file(files['file'], NUM_CLASSES)

    def training_data(self, spec, files, seed):
        x, labels = load_digits()
        return Data(x, labels, NUM_CLASSES)

    def top_eigenvalue(self, data, labels):
        from entropic.theory import point_masses
        return point_masses.top_eigenvalue(data.x.numpy()[np.isin(data.labels.numpy(), labels)])

    def reference_curve(self, data, cells, sigmas, settings, rng):
        from entropic.theory import point_masses
        hypotheses = point_masses.class_hypotheses(data.labels.numpy(), cells)
        return point_masses.empirical_entropy_curve(data.x.double().numpy(), hypotheses, sigmas, settings['samples'], rng)

    def classifier(self, data, seed):
        from entropic.studies import quality
        clf = quality.reference_classifier(data.x.numpy(), data.labels.numpy(), seed)
        return lambda x: clf.predict(quality.as_rows(x))

    def near_copies(self, data, x):
        from entropic.studies import quality
        return quality.nearest_copies(x, data.x.numpy())

    def study_metrics(self, spec, files, data, seed, log, metrics=None):
        from entropic.studies import quality, sample_metrics
        x_real, labels_real = data.x, data.labels
        reference = sample_metrics.FeatureReference(
            sample_metrics.feature_network(x_real.numpy(), labels_real.numpy(), seed=seed),
            quality.reference_classifier(x_real, labels_real), x_real.numpy(), labels_real.numpy())
        k = spec['guidance_study']['neighbours']
        measure = sample_metrics.only(lambda a, b: sample_metrics.feature_metrics(reference, a, b, k=k), metrics)
        return lambda x, labels, folds: sample_metrics.replicate_metrics(measure, x, labels, folds)

BACKEND = DigitsBackend()
