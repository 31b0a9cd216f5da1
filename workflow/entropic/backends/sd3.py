"""Stable Diffusion 3 (Esser et al. 2024, arXiv:2403.03206): a rectified-flow transformer with three text encoders,
prompts as hypotheses and the empty prompt as the unconditional reference.

A preset of the diffusers backend (entropic.backends.diffusers): the velocity of the flow x_t = (1 - t) x0 + t eps
gives the x0 estimate x_t - t v, a denoiser in EDM coordinates with sigma = t / (1 - t) (entropic.theory.noise.FlowSchedule),
sampled on the flow times the pipeline's scheduler lays out with its timestep shift, from pure noise (t = 1, sigma =
inf); a prompt is encoded as StableDiffusion3Pipeline.encode_prompt does (entropic.networks.text_encoders), and two
prompts are one hypothesis only if all three encoders read the same tokens of both. The weights are gated: the
download reads a token from HF_TOKEN and, when refused, names the licence page to accept. A guidance-distilled model
(FLUX.1-dev) has no unconditional branch and is refused, by name before any download.
"""

from entropic.files import download
from .pretrained import BATCH
from .diffusers import PROMPTS, PromptPreset, repo_folder

#----------------------------------------------------------------------------

# The pipelines whose files the backend knows, by repository (entropic.files.download), and where they go.
PIPELINES = {download.SD3_REPO: download.SD3_FILES}

def folder(repo):
    """Where the download rule puts a repository's files: resources/<its name>."""
    return repo_folder(repo)

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

class SD3Backend(PromptPreset):
    name = 'sd3'
    title = 'SD3'
    description = ('Stable Diffusion 3 (a rectified-flow transformer) with prompts as hypotheses, downloaded to '
                   'resources/<repository name> (a gated repository: accept its licence, give a token in HF_TOKEN; '
                   'a GPU advised); of the sampler settings only `steps` applies: the noise levels are the flow times '
                   'of its scheduler (timestep shift), sigma = t / (1 - t) from inf (pure noise) down to 0.009')
    schema = {
        'prompts': PROMPTS,
        'repo': {'description': ('The Hugging Face repository of the StableDiffusion3Pipeline in diffusers layout. '
                                 f'Known: {", ".join(PIPELINES)}. Guidance-distilled models (FLUX.1-dev) are refused: '
                                 'they have no unconditional branch.'),
                 'type': 'string', 'default': download.SD3_REPO},
        'resolution': {'description': ('Image side in pixels, a multiple of 16 (latents of resolution / 8 in 2 x 2 '
                                       'patches); the pipeline\'s default is 1024, what SD3 Medium was trained for.'),
                       'type': 'integer', 'minimum': 16, 'default': 1024},
        'batch': BATCH,
    }
    load_keys = ('batch', 'resolution')
    steps = float('inf')    # a flow grid has any number of steps float32 can tell apart

    def repo(self, spec):
        return spec.get('repo', download.SD3_REPO)     # the schema's default where not yet filled in

    def pipeline_files(self, spec):
        return PIPELINES[self.repo(spec)]

    def check(self, spec, key, config, root):
        from entropic.networks import diffusers_pipeline
        repo = spec['repo']
        if repo in GUIDANCE_DISTILLED:
            return [f'config key {key}.repo: ' + diffusers_pipeline.guidance_distilled(repo, GUIDANCE_DISTILLED[repo])]
        if repo not in PIPELINES:
            return [f'config key {key}.repo: {repo!r} is not a pipeline the sd3 backend knows the files of; '
                    f'known: {", ".join(PIPELINES)}']
        return super().check(spec, key, config, root)

BACKEND = SD3Backend()
