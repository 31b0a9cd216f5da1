"""Stable Diffusion 3 through diffusers (Esser et al. 2024, arXiv:2403.03206): a rectified-flow transformer with
three text encoders, prompts as hypotheses and the empty prompt as the unconditional reference.

The velocity of the flow x_t = (1 - t) x0 + t eps gives the x0 estimate x_t - t v, a denoiser in EDM coordinates
with sigma = t / (1 - t) (entropic.models.sd3, entropic.noise.FlowSchedule); the sampler visits the flow times
the pipeline's scheduler lays out with its timestep shift, from pure noise (t = 1, sigma = inf). Latents are
decoded by the pipeline's own VAE (scaling and shift factor). The prompt file has the format of SD1.5's
(entropic.models.sd15.read_prompt_file); two prompts are one hypothesis only if all three encoders read the
same tokens of both. The weights are gated: the download reads a token from HF_TOKEN and, when refused,
names the licence page to accept. A guidance-distilled model (FLUX.1-dev) has no unconditional branch and is
refused.
"""

import os

from .. import download
from .base import Download, Model, file_errors, resolve
from .pretrained import BATCH, PretrainedBackend
from .sd15 import SD15Backend

#----------------------------------------------------------------------------

# The pipelines whose files the backend knows, by repository (entropic.download), and where they go.
PIPELINES = {download.SD3_REPO: download.SD3_FILES}

def folder(repo):
    """Where the download rule puts a repository's files: resources/<its name>."""
    return f'resources/{repo.split("/")[-1]}'

def files(repo):
    """The paths of a repository's files under the project, model_index.json first."""
    return [f'{folder(repo)}/{name}' for name in PIPELINES[repo]]

# Models that cannot give the paper's binary form: distilled from a guided teacher, they have no unconditional
# branch. How each was distilled, as its model card says.
GUIDANCE_DISTILLED = {
    'black-forest-labs/FLUX.1-dev': 'guidance distillation: the guidance scale is an input of its transformer',
    'black-forest-labs/FLUX.1-schnell': 'latent adversarial diffusion distillation of a guided model, sampled '
                                        'without guidance',
    'stabilityai/stable-diffusion-3.5-large-turbo': 'adversarial diffusion distillation of a guided model, '
                                                    'sampled without guidance',
}

class SD3Backend(PretrainedBackend):
    name = 'sd3'
    description = ('Stable Diffusion 3 (a rectified-flow transformer) with prompts as hypotheses, downloaded to '
                   'resources/<repository name> (a gated repository: accept its licence, give a token in HF_TOKEN; '
                   'a GPU advised); of the sampler settings only `steps` applies: the noise levels are the flow times '
                   'of its scheduler (timestep shift), sigma = t / (1 - t) from inf (pure noise) down to 0.009')
    schema = {
        'prompts': {'description': ('(required) a YAML file of prompts (hypothesis k = prompt k; the empty prompt '
                                    'is the unconditional reference, -1) and named partitions of them, relative to '
                                    'the project root (the format of config/prompts/sd15.yaml). Every prompt is '
                                    'tracked, one transformer call per step each.'),
                    'type': 'string'},
        'repo': {'description': ('The Hugging Face repository of the StableDiffusion3Pipeline in diffusers layout. '
                                 f'Known: {", ".join(PIPELINES)}. Guidance-distilled models (FLUX.1-dev) are refused: '
                                 'they have no unconditional branch.'),
                 'type': 'string', 'default': download.SD3_REPO},
        'resolution': {'description': ('Image side in pixels, a multiple of 16 (latents of resolution / 8 in 2 x 2 '
                                       'patches); the pipeline\'s default is 1024, what SD3 Medium was trained for.'),
                       'type': 'integer', 'minimum': 16, 'default': 1024},
        'batch': BATCH,
    }
    required = ('prompts',)
    hypothesis_file = 'prompts'
    load_keys = ('batch', 'resolution')

    def check(self, spec, key, config, root):
        from ..models import sd3
        repo = spec['repo']
        if repo in GUIDANCE_DISTILLED:
            return [f'config key {key}.repo: ' + sd3.guidance_distilled(repo, GUIDANCE_DISTILLED[repo])]
        if repo not in PIPELINES:
            return [f'config key {key}.repo: {repo!r} is not a pipeline the sd3 backend knows the files of; '
                    f'known: {", ".join(PIPELINES)}']
        local = resolve(root, folder(repo))
        errors = file_errors(spec, 'prompts', key, root, lambda path: read_prompts(path, local, repo))
        if os.path.isfile(local / 'transformer' / 'config.json'):   # once downloaded: what the files say
            try:
                sd3.check_pipeline(local)
                sd3.latent_shape(local, spec['resolution'])
                if os.path.isfile(local / 'scheduler' / 'scheduler_config.json'):
                    sd3.schedule_from_config(local).flow_times(spec['sampler']['steps'])
            except (ValueError, FileNotFoundError) as err:
                errors.append(f'config key {key}: {err}')
        return errors

    hypotheses = SD15Backend.hypotheses     # the prompt file's prompts, in order: the same format as SD1.5's

    def partition_files(self, spec, config, root):
        # with the tokenizers: the first job to have them refuses prompts they cannot tell apart, before sampling
        return {'file': str(resolve(root, spec['prompts'])), 'tokenizer': tokenizer_files(spec['repo'])}

    def partitions(self, spec, files):
        """The prompt file's partitions; ValueError if the three tokenizers cannot tell two prompts apart, and a
        warning in the job's log for every prompt an encoder truncates (entropic.models.sd15.check_encoder_tokens)."""
        import logging
        from ..models import sd3, sd15
        prompts, partitions = sd15.read_prompt_file(files['file'])
        tokenizers = sd3.load_tokenizers(os.path.dirname(os.path.dirname(files['tokenizer'][0])))
        for warning in sd15.check_encoder_tokens(tokenizers, prompts, files['file']):
            logging.getLogger('entropic').warning(warning)
        return partitions

    def model_downloads(self, spec):
        return {path: Download(repo=spec['repo'], file=name) for path, name in zip(files(spec['repo']),
                                                                                   PIPELINES[spec['repo']])}

    def network_files(self, model, spec, run):
        return {'pipeline': files(spec['repo'])}

    def load(self, spec, files, hypotheses, device):
        import torch
        from ..models import sd3
        dtype = torch.float16 if device == 'cuda' else torch.float32
        folder = os.path.dirname(files['pipeline'][0])     # model_index.json, at the top of the pipeline's folder
        shape = sd3.latent_shape(folder, spec['resolution'])
        denoiser = sd3.load_denoiser(folder, list(hypotheses.values()), device, dtype, max_batch=spec['batch'],
                                     source='the prompts in play')
        return Model(denoiser, list(hypotheses), shape, denoiser.schedule, device)

    def decoder_files(self, spec):
        return [path for path in files(spec['repo']) if '/vae/' in path]

    def load_decoder(self, files, device):
        import torch
        from ..models import edm2, sd15
        vae = edm2.load_vae(os.path.dirname(files['vae'][0]), device)
        return lambda latents: sd15.decode(vae, torch.as_tensor(latents))

def tokenizer_files(repo):
    """The files of the three tokenizers of a repository's pipeline."""
    return [path for path in files(repo) if '/tokenizer' in path]

def read_prompts(path, local, repo):
    """The prompts of a prompt file, checked (entropic.models.sd15.read_prompt_file); where the tokenizers of
    `repo`'s pipeline are already downloaded into `local`, also that the text encoders tell them apart. Otherwise
    the first jobs that load them, the partitions and the sampling, check that."""
    from ..models import sd3, sd15
    prompts, _ = sd15.read_prompt_file(path)
    if all((local / name).is_file() for name in PIPELINES[repo] if name.startswith('tokenizer')):
        sd15.check_encoder_tokens(sd3.load_tokenizers(local), prompts, path)
    return prompts

BACKEND = SD3Backend()
