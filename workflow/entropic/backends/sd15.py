"""Stable Diffusion 1.5 through diffusers (Rombach et al. 2022, arXiv:2112.10752): the paper's text-to-image
experiments, with prompts as hypotheses and the empty prompt as the unconditional reference.

The epsilon-prediction UNet on the scaled-linear DDPM schedule is a denoiser in EDM coordinates
(entropic.models.sd15); the sampler visits the scheduler's own timesteps and starts from the VP prior.
Latents are decoded by the pipeline's own VAE. The prompt file lists the prompts (hypothesis k = prompt k)
and names partitions of them; sampling depends on the prompts only, so editing a partition reruns only
the readouts.
"""

from .. import download, noise
from .base import Download, Model, file_errors, resolve
from .pretrained import BATCH, PretrainedBackend

#----------------------------------------------------------------------------

FOLDER = 'resources/stable-diffusion-v1-5'
FILES = [f'{FOLDER}/{name}' for name in download.SD15_FILES]      # model_index.json first

class SD15Backend(PretrainedBackend):
    name = 'sd15'
    description = ('Stable Diffusion 1.5 with prompts as hypotheses (downloaded to resources/stable-diffusion-v1-5, '
                   'a GPU advised); of the sampler settings only `steps` applies: the noise levels are its own DDPM '
                   'timesteps, sigma in [0.029, 14.6]')
    schema = {
        'prompts': {'description': ('(required) a YAML file of prompts (hypothesis k = prompt k; the empty prompt '
                                    'is the unconditional reference, -1) and named partitions of them, relative to '
                                    'the project root (format: config/prompts/sd15.yaml). Every prompt is tracked, '
                                    'one UNet call per step each; `classes` and `<k>-vs-reference` for every prompt '
                                    'are always built.'),
                    'type': 'string'},
        'batch': BATCH,
    }
    required = ('prompts',)
    hypothesis_file = 'prompts'

    def check(self, spec, key, config, root):
        from ..models import sd15
        errors = file_errors(spec, 'prompts', key, root, sd15.read_prompt_file)
        if not spec['sampler']['steps'] < 1000:
            errors.append(f'config key {key}.sampler.steps: SD1.5 has 1000 timesteps; need steps < 1000')
        return errors

    def hypotheses(self, spec, config, root):
        from ..models import sd15
        prompts, _ = sd15.read_prompt_file(resolve(root, spec['prompts']))
        return dict(enumerate(prompts))

    def partition_files(self, spec, config, root):
        return {'file': str(resolve(root, spec['prompts']))}

    def partitions(self, files):
        from ..models import sd15
        return sd15.read_prompt_file(files['file'])[1]

    def model_downloads(self, spec):
        return {path: Download(repo=download.SD15_REPO, file=name) for path, name in zip(FILES, download.SD15_FILES)}

    def network_files(self, model, spec, run):
        return {'pipeline': FILES}

    def load(self, spec, files, hypotheses, device):
        import torch
        from ..models import sd15
        dtype = torch.float16 if device == 'cuda' else torch.float32
        denoiser, _ = sd15.load_denoiser(pipeline_folder(files), list(hypotheses.values()), device, dtype,
                                         max_batch=spec['batch'])
        config = denoiser.unet.config
        return Model(denoiser, list(hypotheses), (config.in_channels, config.sample_size, config.sample_size),
                     noise.DDPMSchedule(denoiser.abar, 'leading', 1), device)

    def decoder_files(self, spec):
        return [path for path in FILES if '/vae/' in path]

    def load_decoder(self, files, device):
        import os
        import torch
        from ..models import edm2, sd15
        vae = edm2.load_vae(os.path.dirname(files['vae'][0]), device)
        return lambda latents: sd15.decode(vae, torch.as_tensor(latents))

def pipeline_folder(files):
    """The pipeline folder of the network files: model_index.json lies at its top."""
    import os
    return os.path.dirname(files['pipeline'][0])

BACKEND = SD15Backend()
