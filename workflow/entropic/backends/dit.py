"""DiT-XL/2 on ImageNet (Peebles & Xie 2023, arXiv:2212.09748) through diffusers: class-conditional latent
transformers at 256 and 512 px, with ImageNet classes as hypotheses and the null label as the reference.

The epsilon-prediction transformer on the DDPM linear schedule is a denoiser in EDM coordinates, and its learned
variance the posterior variance of x0 (entropic.models.dit); the sampler visits the timesteps of the pipeline's
scheduler config (DDIM's leading spacing, offset 0) and starts from the VP prior. The ImageNet partition file of
EDM2 serves it unchanged: DiT's labels are the ImageNet class indices in the same order (checked against the
pipeline's id2label when it is loaded). Latents are decoded by the VAE DiT's pipeline ships,
stabilityai/sd-vae-ft-ema, with the 0.18215 latent scale.
"""

import os

from .. import download
from .base import Download, Model
from .edm2 import EDM2Backend
from .pretrained import BATCH, PretrainedBackend

#----------------------------------------------------------------------------

REPOS = ('facebook/DiT-XL-2-256', 'facebook/DiT-XL-2-512')
VAE_REPO = 'stabilityai/sd-vae-ft-ema'
VAE = [f'resources/sd-vae-ft-ema/{name}' for name in download.SD_VAE_FILES]

def pipeline_files(repo):
    """Where the download rule puts the pipeline's files (entropic.models.dit.FILES): resources/<name>/..."""
    from ..models import dit
    return [f"resources/{repo.split('/')[1]}/{name}" for name in dit.FILES]

class DiTBackend(PretrainedBackend):
    name = 'dit'
    description = ("Meta's DiT-XL/2 class-conditional ImageNet transformers through diffusers (downloaded to "
                   'resources/DiT-XL-2-256 or -512, a GPU advised); of the sampler settings only `steps` applies: the '
                   'noise levels are the DDPM timesteps of its scheduler config, sigma in [0.01, 157]')
    schema = {
        'repo': {'description': ('the Hugging Face repository of the pipeline: facebook/DiT-XL-2-256 (32x32 latents) '
                                 'or facebook/DiT-XL-2-512 (64x64).'),
                 'enum': list(REPOS), 'default': REPOS[0]},
        'partitions': {'description': ('(required) a YAML file of named partitions of ImageNet classes (cells of '
                                       'class indices; -1 is the unconditional reference, the null label 1000), '
                                       'relative to the project root; the format of config/partitions/imagenet.yaml. '
                                       'Only the classes named in the file are in play: each is a tracked hypothesis '
                                       'costing one network call per step.'),
                       'type': 'string'},
        'batch': BATCH,
    }
    required = ('partitions',)
    hypothesis_file = 'partitions'

    # ImageNet classes and partitions exactly as EDM2's: the same class indices, the same partition files.
    _partitions = EDM2Backend._partitions
    hypotheses = EDM2Backend.hypotheses
    partition_files = EDM2Backend.partition_files
    partitions = EDM2Backend.partitions

    def check(self, spec, key, config, root):
        """The partition file; the steps the 1000 training timesteps allow; and, once the pipeline is downloaded,
        its class order and scheduler config (what the sampling jobs check again when they load it)."""
        from ..models import dit
        errors = EDM2Backend.check(self, spec, key, config, root)
        steps = spec['sampler']['steps']
        if not 1 <= steps <= 1000:
            errors.append(f'config key {key}.sampler.steps: DiT has 1000 timesteps; need 1 <= steps <= 1000')
        folder = os.path.dirname(pipeline_files(spec['repo'])[0])     # in the working directory, as resources/ are
        if not errors and os.path.isfile(os.path.join(folder, 'scheduler', 'scheduler_config.json')):
            try:
                schedule = dit.read_schedule(folder)
            except ValueError as err:
                errors.append(f'config key {key}.repo: {err}')
            else:
                try:
                    schedule.timesteps(steps)
                except ValueError as err:
                    errors.append(f'config key {key}.sampler.steps: {err}')
        if os.path.isfile(os.path.join(folder, 'model_index.json')):
            try:
                dit.check_id2label(os.path.join(folder, 'model_index.json'))
            except ValueError as err:
                errors.append(f'config key {key}.repo: {err}')
        return errors

    def model_downloads(self, spec):
        from ..models import dit
        files = {path: Download(repo=spec['repo'], file=name) for path, name in zip(pipeline_files(spec['repo']), dit.FILES)}
        files.update({path: Download(repo=VAE_REPO, file=name) for path, name in zip(VAE, download.SD_VAE_FILES)})
        return files

    def network_files(self, model, spec, run):
        return {'pipeline': pipeline_files(spec['repo'])}

    def load(self, spec, files, hypotheses, device):
        import torch
        from ..models import dit
        dtype = torch.float16 if device == 'cuda' else torch.float32
        denoiser = dit.load_denoiser(os.path.dirname(files['pipeline'][0]), device, dtype, max_batch=spec['batch'])
        return Model(denoiser, list(hypotheses), denoiser.shape, denoiser.schedule, device)

    def decoder_files(self, spec):
        return VAE

    def load_decoder(self, files, device):
        from ..models import dit
        return dit.load_decoder(os.path.dirname(files['vae'][0]), device)

BACKEND = DiTBackend()
