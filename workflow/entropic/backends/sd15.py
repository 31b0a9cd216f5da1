"""Stable Diffusion 1.5 (Rombach et al. 2022, arXiv:2112.10752): the paper's text-to-image experiments, with prompts
as hypotheses and the empty prompt as the unconditional reference.

A preset of the diffusers backend (entropic.backends.diffusers): the pipeline stable-diffusion-v1-5/
stable-diffusion-v1-5, its files known and fetched one by one into resources/stable-diffusion-v1-5, read as any
diffusers pipeline is (an epsilon-prediction UNet on the scaled-linear DDPM schedule, the sampler on the timesteps of
its scheduler config, the VAE with its scaling factor). What the preset adds is the paper's model and its `prompts`
key; editing a partition of the prompt file reruns only the readouts.
"""

from entropic.files import download
from .diffusers import PromptPreset

#----------------------------------------------------------------------------

class SD15Backend(PromptPreset):
    name = 'sd15'
    title = 'SD1.5'
    description = ('Stable Diffusion 1.5 with prompts as hypotheses (downloaded to resources/stable-diffusion-v1-5, '
                   'a GPU advised); of the sampler settings only `steps` applies: the noise levels are its own DDPM '
                   'timesteps, sigma in [0.029, 14.6]')

    checkpoint_key = 'backend'  # the one pipeline of the backend

    def repo(self, spec):
        return download.SD15_REPO

    def pipeline_files(self, spec):
        return download.SD15_FILES

BACKEND = SD15Backend()
