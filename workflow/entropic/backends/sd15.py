"""Stable Diffusion 1.5 (Rombach et al. 2022, arXiv:2112.10752): the paper's text-to-image experiments, with prompts
as hypotheses and the empty prompt as the unconditional reference.

A preset of the diffusers backend (entropic.backends.diffusers): the pipeline stable-diffusion-v1-5/
stable-diffusion-v1-5, its files known and fetched one by one into resources/stable-diffusion-v1-5, read as any
diffusers pipeline is (an epsilon-prediction UNet on the scaled-linear DDPM schedule, the sampler on the timesteps of
its scheduler config, the VAE with its scaling factor). What the preset adds is the paper's model and its `prompts`
key; editing a partition of the prompt file reruns only the readouts.
"""

from .. import download
from .base import Download
from .diffusers import DiffusersBackend
from .pretrained import BATCH

#----------------------------------------------------------------------------

FILES = [f'{download.SD15_FOLDER}/{name}' for name in download.SD15_FILES]      # model_index.json first

PROMPTS = {'description': ('(required) a YAML file of prompts (hypothesis k = prompt k; the empty prompt is the '
                           'unconditional reference, -1) and named partitions of them, relative to the project root '
                           '(format: config/prompts/sd15.yaml). Every prompt is tracked, one network call per step '
                           'each; `classes` and `<k>-vs-reference` for every prompt are always built.'),
           'type': 'string'}

class PromptPreset(DiffusersBackend):
    """A preset of a known text-to-image pipeline whose files the download rule fetches one by one into
    resources/: the entry names its `prompts` file, the preset the pipeline."""

    schema = {'prompts': PROMPTS, 'batch': BATCH}
    required = ('prompts',)
    hypothesis_file = 'prompts'
    checkpoint_key = 'prompts'
    load_keys = ('batch',)
    steps = 1000        # the training timesteps of the published scheduler configs: need steps < this, before the
                        # files are there (the full check reads the grid once they are)

    def repo(self, spec):
        """The Hub repository of the entry's pipeline."""
        raise NotImplementedError

    def pipeline_files(self, spec):
        """The names of the pipeline's files in its repository, model_index.json first."""
        raise NotImplementedError

    def entry(self, spec):
        return {**spec, 'checkpoint': repo_folder(self.repo(spec)), 'partitions': spec['prompts']}

    def fetched(self, spec, root='.'):
        return True

    def files(self, spec):
        return [f'{repo_folder(self.repo(spec))}/{name}' for name in self.pipeline_files(spec)]

    def model_downloads(self, spec):
        return {path: Download(repo=self.repo(spec), file=name)
                for path, name in zip(self.files(spec), self.pipeline_files(spec))}

    def check(self, spec, key, config, root):
        errors = super().check(spec, key, config, root)
        if not (resolve_index(root, self.files(spec))) and not spec['sampler']['steps'] < self.steps:
            errors.append(f'config key {key}.sampler.steps: {self.name} has {self.steps} timesteps; need steps < '
                          f'{self.steps}')
        return errors

def repo_folder(repo):
    """Where the download rule puts a repository's files: resources/<its name>."""
    return f"resources/{repo.split('/')[-1]}"

def resolve_index(root, files):
    """Whether a preset's pipeline is there (its model_index.json, the first of its files)."""
    from .base import resolve
    return resolve(root, files[0]).is_file()

class SD15Backend(PromptPreset):
    name = 'sd15'
    description = ('Stable Diffusion 1.5 with prompts as hypotheses (downloaded to resources/stable-diffusion-v1-5, '
                   'a GPU advised); of the sampler settings only `steps` applies: the noise levels are its own DDPM '
                   'timesteps, sigma in [0.029, 14.6]')

    def repo(self, spec):
        return download.SD15_REPO

    def pipeline_files(self, spec):
        return download.SD15_FILES

BACKEND = SD15Backend()
