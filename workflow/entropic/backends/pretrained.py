"""What the backends of downloaded latent image models share (edm2.py, sd15.py, sd21.py, dit.py, sd3.py): the
`batch` key, a GPU, a VAE decoder, and the guidance study measured by FID and FD-DINOv2 against reference statistics.

FID uses the Inception-v3 graph of 2015-12-05 (Heusel et al. 2017, arXiv:1706.08500), FD-DINOv2 the DINOv2
ViT-L/14 features (Stein et al. 2023, arXiv:2306.04675), both on decoded images quantised to uint8 as EDM2
does (entropic.image_metrics). None of these model families has a known data distribution: no exact reference
curve, no speciation scale Lambda.
"""

import os

from .. import download
from .base import Backend, Download

#----------------------------------------------------------------------------

BATCH = {'description': 'Rows per network call (a memory bound; results do not depend on it beyond float rounding).',
         'type': 'integer', 'minimum': 1, 'default': 64}

INCEPTION = f'resources/fid/{download.INCEPTION_FILE}'
DINOV2 = [f'resources/dinov2-large/{name}' for name in download.DINOV2_FILES]

class PretrainedBackend(Backend):
    """A downloaded latent diffusion model sampled on a GPU when there is one."""

    gpu = True
    figures = ('images',)
    study_metric = 'fd_dinov2'
    study_statistics = True
    load_keys = ('batch',)

    def downloads(self, spec):
        """Its own files, and for a guidance study the feature networks of FID and FD-DINOv2."""
        files = dict(self.model_downloads(spec))
        if 'guidance_study' in spec:
            files[INCEPTION] = Download(url=download.INCEPTION_URL)
            files.update({path: Download(repo=download.DINOV2_REPO, file=name)
                          for path, name in zip(DINOV2, download.DINOV2_FILES)})
            statistics = spec['guidance_study']['statistics']
            name = os.path.basename(statistics)
            if statistics == f'resources/dataset-refs/{name}' and download.EDM2_REFERENCE_NAME.fullmatch(name):
                files[statistics] = Download(url=download.EDM2_REFERENCE_ROOT + name)
        return files

    def model_downloads(self, spec):
        """{path: Download} of the model's own files."""
        return {}

    def study_files(self, spec, config):
        return {'vae': self.decoder_files(spec), 'inception': INCEPTION, 'dinov2': DINOV2,
                'statistics': spec['guidance_study']['statistics']}

    def study_metrics(self, spec, files, data, seed, log):
        """FID, FD-DINOv2 and the within-class spread of the DINOv2 features of the decoded samples."""
        import numpy as np
        from tqdm import tqdm
        from .. import guidance_study as G, image_metrics as M
        device, batch = self.device(), spec['batch']
        decode = self.load_decoder(files, device)
        networks = {'fid': M.load_inception(files['inception'], device),
                    'fd_dinov2': M.load_dinov2(os.path.dirname(files['dinov2'][0]), device)}
        reference = M.read_reference(files['statistics'])
        log.info(f"{files['statistics']}: reference statistics; feature networks on {device}")

        def measure(latents, labels, folds):
            batches = (M.to_uint8(decode(latents[i:i + batch]))
                       for i in tqdm(range(0, len(latents), batch), desc='decode, features', unit='batch'))
            features = M.image_features(networks, batches, device)
            M.check_features(features, reference, files['statistics'])
            rows = np.arange(len(latents))      # the folds index the images; metrics read their features
            return G.replicate_metrics(lambda r, y: M.sample_metrics(features, reference, r, y), rows, labels, folds)
        return measure
