"""What the backends of downloaded latent image models share (edm2.py, sd15.py, sd21.py, dit.py, sd3.py): the
`batch` key, a GPU, a VAE decoder, and the guidance study measured by FID and FD-DINOv2 against reference statistics.

FID uses the Inception-v3 graph of 2015-12-05 (Heusel et al. 2017, arXiv:1706.08500), FD-DINOv2 the DINOv2
ViT-L/14 features (Stein et al. 2023, arXiv:2306.04675), both on decoded images quantised to uint8 as EDM2
does (entropic.studies.image_metrics). None of these model families has a known data distribution: no exact reference
curve, no speciation scale Lambda.
"""

import os

import numpy as np

from entropic.files import download
from .base import Backend, Download, schedule_study_schema

#----------------------------------------------------------------------------

BATCH = {'description': 'Rows per network call (a memory bound; results do not depend on it beyond float rounding).',
         'type': 'integer', 'minimum': 1, 'default': 64}

INCEPTION = f'resources/fid/{download.INCEPTION_FILE}'
DINOV2 = [f'resources/dinov2-large/{name}' for name in download.DINOV2_FILES]

# The schedule study of a model without training data at hand (a backend adds it to its `schema`).
SCHEDULE_STUDY = schedule_study_schema(
    ('Forward-noised x0 per level, drawn with replacement from the final samples of the unconditional model in the '
     "`source` run (its trajectories split evenly over the hypotheses and the reference): the model's own samples "
     'stand in for the data it has none of, a proxy exact only where the model matches its data '
     '(entropic.studies.schedule_study.own_samples).'),
    'measured by FID and FD-DINOv2 of the decoded images against reference statistics, as the guidance study is',
    extra={'statistics': {'description': ('Reference statistics of real images for FID and FD-DINOv2, as '
                                          'the guidance study\'s `statistics`: an EDM2 dataset-refs pickle under '
                                          'resources/dataset-refs/ (downloaded) or an .npz of rule reference_statistics.'),
                          'type': 'string'}},
    required=['statistics'])

class PretrainedBackend(Backend):
    """A downloaded latent diffusion model sampled on a GPU when there is one."""

    gpu = True
    figures = ('images',)
    study_metric = 'fd_dinov2'
    study_statistics = True
    schedule_x0 = 'samples'
    load_keys = ('batch',)

    def downloads(self, spec):
        """Its own files, and for a guidance or schedule study the feature networks of FID and FD-DINOv2 and
        NVlabs' reference statistics where the study names a file of theirs."""
        files = dict(self.model_downloads(spec))
        studies = [spec[key] for key in ('guidance_study', 'schedule_study') if key in spec]
        if studies:
            files[INCEPTION] = Download(url=download.INCEPTION_URL)
            files.update({path: Download(repo=download.DINOV2_REPO, file=name)
                          for path, name in zip(DINOV2, download.DINOV2_FILES)})
        for statistics in {study['statistics'] for study in studies}:
            name = os.path.basename(statistics)
            if statistics == f'resources/dataset-refs/{name}' and download.EDM2_REFERENCE_NAME.fullmatch(name):
                files[statistics] = Download(url=download.EDM2_REFERENCE_ROOT + name)
        return files

    def model_downloads(self, spec):
        """{path: Download} of the model's own files."""
        return {}

    def study_files(self, spec, config):
        return self._metric_files(spec, spec['guidance_study'])

    def schedule_files(self, spec, config):
        return self._metric_files(spec, spec['schedule_study'])

    def _metric_files(self, spec, study):
        """What FID and FD-DINOv2 read: the decoder, both feature networks and the study's reference statistics."""
        return {'vae': self.decoder_files(spec), 'inception': INCEPTION, 'dinov2': DINOV2,
                'statistics': study['statistics']}

    def study_metrics(self, spec, files, data, seed, log, metrics=None):
        """FID, FD-DINOv2 and the within-class spread of the DINOv2 features of the decoded samples, or only
        `metrics` of them: a feature network none of those reads is not loaded or run (the tuning set's
        FD-DINOv2 runs no Inception-v3)."""
        from entropic.studies import image_metrics as M, sample_metrics
        metrics = tuple(M.FEATURES) if metrics is None else tuple(metrics)
        features_of, reference = self._features(spec, files, log, M.feature_networks(metrics))

        def measure(latents, labels, folds):
            features = features_of(latents)
            rows = np.arange(len(latents))      # the folds index the images; metrics read their features
            return sample_metrics.replicate_metrics(
                lambda r, y: M.sample_metrics(features, reference, r, y, metrics), rows, labels, folds)
        return measure

    def schedule_metrics(self, spec, files, data, seed, log):
        """`fid` and `fd_dinov2` of one set of decoded samples against the reference statistics (the guidance
        study's FID and FD-DINOv2, entropic.studies.image_metrics, without folds: the schedule study's intervals are over
        seeds); `data` and `seed` unread. Of a few hundred images both are biased upwards by an amount that falls
        like 1/n (Chong & Forsyth 2020, arXiv:1911.07023), much the same for every grid at the same n: they rank
        the grids but are not comparable with values from 50,000 images."""
        from entropic.studies import image_metrics as M
        features_of, reference = self._features(spec, files, log)

        def measure(latents, labels):
            features = features_of(latents)
            return {metric: M.frechet_distance_of_samples(features[metric], *reference[metric]) for metric in M.METRICS}
        return measure

    def _features(self, spec, files, log, networks=('fid', 'fd_dinov2')):
        """(features_of(latents [N, *shape]) -> {network: features [N, d]} of the decoded images, the reference
        statistics {metric: (mu, sigma)}), with the decoder and the feature `networks` ('fid': Inception-v3,
        'fd_dinov2': DINOv2; the others are not loaded) loaded once on the backend's device; features of another
        dimension than the reference's raise ValueError naming the statistics."""
        from tqdm import tqdm
        from entropic.networks import dinov2, inception
        from entropic.studies import image_metrics as M
        device, batch = self.device(), spec['batch']
        decode = self.load_decoder(files, device)
        loaders = {'fid': lambda: inception.load_inception(files['inception'], device),
                   'fd_dinov2': lambda: dinov2.load_dinov2(os.path.dirname(files['dinov2'][0]), device)}
        networks = {name: loaders[name]() for name in networks}
        reference = M.read_reference(files['statistics'])
        log.info(f"{files['statistics']}: reference statistics; feature networks {', '.join(networks)} on {device}")

        def features_of(latents):
            batches = (M.to_uint8(decode(latents[i:i + batch]))
                       for i in tqdm(range(0, len(latents), batch), desc='decode, features', unit='batch'))
            features = M.image_features(networks, batches, device)
            M.check_features(features, reference, files['statistics'])
            return features
        return features_of, reference
