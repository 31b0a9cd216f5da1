"""Stable Diffusion 1.5 through diffusers (Rombach et al. 2022, arXiv:2112.10752): the paper's text-to-image
experiments, with prompts as hypotheses and the empty prompt as the unconditional reference.

The epsilon-prediction UNet on the scaled-linear DDPM schedule is a denoiser in EDM coordinates
(entropic.models.sd15); the sampler visits the scheduler's own timesteps and starts from the VP prior.
Latents are decoded by the pipeline's own VAE. The prompt file lists the prompts (hypothesis k = prompt k)
and names partitions of them; sampling depends on the prompts only, so editing a partition reruns only
the readouts.
"""

from .. import download
from .base import Download, Model, file_errors, resolve
from .pretrained import BATCH, PretrainedBackend

#----------------------------------------------------------------------------

FILES = [f'{download.SD15_FOLDER}/{name}' for name in download.SD15_FILES]      # model_index.json first
TOKENIZER = [path for path in FILES if '/tokenizer/' in path]

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
        tokenizer = tokenizer_files(self.files(spec))
        errors = file_errors(spec, 'prompts', key, root, lambda path: read_prompts(path, tokenizer))
        if not spec['sampler']['steps'] < 1000:
            errors.append(f'config key {key}.sampler.steps: SD1.5 has 1000 timesteps; need steps < 1000')
        return errors

    def hypotheses(self, spec, config, root):
        from ..models import sd15
        prompts, _ = sd15.read_prompt_file(resolve(root, spec['prompts']))
        return dict(enumerate(prompts))

    def partition_files(self, spec, config, root):
        # with the tokenizer: the first job to have it refuses prompts it cannot tell apart, before any sampling
        return {'file': str(resolve(root, spec['prompts'])), 'tokenizer': tokenizer_files(self.files(spec))}

    def partitions(self, spec, files):
        """The prompt file's partitions; ValueError if the tokenizer cannot tell two prompts apart, and a warning
        in the job's log for every prompt it truncates (entropic.models.sd15.check_prompt_tokens)."""
        import logging
        import os
        from ..models import sd15
        prompts, partitions = sd15.read_prompt_file(files['file'])
        tokenizer = sd15.load_tokenizer(os.path.dirname(files['tokenizer'][0]))
        for warning in sd15.check_prompt_tokens(tokenizer, prompts, files['file']):
            logging.getLogger('entropic').warning(warning)
        return partitions

    def model_downloads(self, spec):
        return {path: Download(repo=download.SD15_REPO, file=name) for path, name in zip(FILES, download.SD15_FILES)}

    def network_files(self, model, spec, run):
        return {'pipeline': self.files(spec)}

    def load(self, spec, files, hypotheses, device):
        import torch
        from ..models import sd15
        dtype = torch.float16 if device == 'cuda' else torch.float32
        folder = pipeline_folder(files)
        denoiser, _ = sd15.load_denoiser(folder, list(hypotheses.values()), device, dtype, max_batch=spec['batch'],
                                         source='the prompts in play', scheduler=self.scheduler(folder))
        config = denoiser.unet.config
        return Model(denoiser, list(hypotheses), (config.in_channels, config.sample_size, config.sample_size),
                     denoiser.schedule, device)

    def decoder_files(self, spec):
        return [path for path in self.files(spec) if '/vae/' in path]

    def load_decoder(self, files, device):
        import os
        import torch
        from ..models import edm2, sd15
        vae = edm2.load_vae(os.path.dirname(files['vae'][0]), device)
        return lambda latents: sd15.decode(vae, torch.as_tensor(latents))

    def files(self, spec):
        """The pipeline's files under resources/ (model_index.json first): what sampling reads."""
        return FILES

    def scheduler(self, folder):
        """The scheduler config of the pipeline in `folder`, checked to hold only values this backend honours
        (entropic.models.sd15.scheduler_config)."""
        from ..models import sd15
        return sd15.scheduler_config(folder)

def tokenizer_files(files):
    """The tokenizer's files among a pipeline's files."""
    return [path for path in files if '/tokenizer/' in path]

def read_prompts(path, tokenizer=TOKENIZER):
    """The prompts of a prompt file, checked (entropic.models.sd15.read_prompt_file); where the `tokenizer` files
    are already downloaded, also that the text encoder tells them apart (check_prompt_tokens). Otherwise the
    first jobs that load it, the partitions and the sampling, check that."""
    import os
    from ..models import sd15
    prompts, _ = sd15.read_prompt_file(path)
    if all(os.path.isfile(name) for name in tokenizer):
        sd15.check_prompt_tokens(sd15.load_tokenizer(os.path.dirname(tokenizer[0])), prompts, path)
    return prompts

def pipeline_folder(files):
    """The pipeline folder of the network files: model_index.json lies at its top."""
    import os
    return os.path.dirname(files['pipeline'][0])

BACKEND = SD15Backend()
