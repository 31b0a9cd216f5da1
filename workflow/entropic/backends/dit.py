"""DiT-XL/2 on ImageNet (Peebles & Xie 2023, arXiv:2212.09748): class-conditional latent transformers at 256 and
512 px, with ImageNet classes as hypotheses and the null label as the reference.

A preset of the diffusers backend (entropic.backends.diffusers): the epsilon-prediction transformer on the DDPM linear
schedule, its learned variance read as the posterior variance of x0 (entropic.networks.diffusers_denoiser), the sampler
on the timesteps of the pipeline's scheduler config. The ImageNet partition file of EDM2 serves it unchanged: DiT's
labels are the ImageNet class indices in the same order (checked against the pipeline's id2label), and its null label
is class embedding 1000. Latents are decoded by the VAE DiT's pipeline ships, stabilityai/sd-vae-ft-ema, with the
0.18215 latent scale.
"""

import math
import os
from pathlib import Path

from entropic.files import download
from entropic.networks import imagenet
from .base import Download
from .diffusers import DiffusersBackend
from .pretrained import BATCH
from .diffusers import repo_folder

#----------------------------------------------------------------------------

REPOS = ('facebook/DiT-XL-2-256', 'facebook/DiT-XL-2-512')
FILES = [                   # of each repository, model_index.json first: it marks the folder
    'model_index.json',
    'scheduler/scheduler_config.json',
    'transformer/config.json',
    'transformer/diffusion_pytorch_model.bin',
]
VAE_REPO = 'stabilityai/sd-vae-ft-ema'
VAE = [f'resources/sd-vae-ft-ema/{name}' for name in download.SD_VAE_FILES]
LATENT_SCALE = 0.18215      # DiT was trained on SD VAE latents times 0.18215 (its train.py)

def pipeline_files(repo):
    """Where the download rule puts the pipeline's files (FILES): resources/<name>/..."""
    return [f'{repo_folder(repo)}/{name}' for name in FILES]

class DiTBackend(DiffusersBackend):
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
    checkpoint_key = 'repo'
    load_keys = ('batch',)

    def entry(self, spec):
        return {**spec, 'checkpoint': repo_folder(repo(spec))}

    def fetched(self, spec, root='.'):
        return True

    def hub(self, spec, root='.'):
        return False        # its files are fetched one by one into resources/<name>, not as a Hub pipeline

    def vae_folder(self, spec):
        return os.path.dirname(VAE[0])

    def class_name(self, k):
        return imagenet.class_names()[k]

    def files(self, spec):
        return pipeline_files(repo(spec))

    def model_downloads(self, spec):
        files = {path: Download(repo=repo(spec), file=name) for path, name in zip(pipeline_files(repo(spec)), FILES)}
        files.update({path: Download(repo=VAE_REPO, file=name) for path, name in zip(VAE, download.SD_VAE_FILES)})
        return files

    def check(self, spec, key, config, root):
        """The generic checks (once the files are there: the network, the grid of `steps`, the classes against it);
        the steps the 1000 training timesteps allow; the pipeline's class order and class count: ImageNet's."""
        from entropic.networks import diffusers_folder
        errors = super().check(spec, key, config, root)
        steps = spec['sampler']['steps']
        if not 1 <= steps <= 1000:
            errors.append(f'config key {key}.sampler.steps: DiT has 1000 timesteps; need 1 <= steps <= 1000')
        folder = Path(repo_folder(repo(spec)))         # where the download rule puts it: the working directory
        if not errors and (folder / 'model_index.json').is_file():
            try:
                check_id2label(folder / 'model_index.json')
                transformer = folder / 'transformer' / 'config.json'   # not downloaded yet: the jobs check it
                network = diffusers_folder.read_json(transformer) if transformer.is_file() else {}
                if network and network.get('num_embeds_ada_norm') != imagenet.NUM_CLASSES:
                    raise ValueError(f"{folder}/transformer: {network.get('num_embeds_ada_norm')} classes; the DiT "
                                     f'backend reads ImageNet class indices (0..{imagenet.NUM_CLASSES - 1})')
            except (ValueError, FileNotFoundError) as err:
                errors.append(f'config key {key}.repo: {err}')
        return errors

    def partitions(self, spec, files):
        check_id2label(files['pipeline'][0])
        return super().partitions(spec, files)

    def decoder_files(self, spec):
        return VAE

    def load_decoder(self, files, device):
        """latents [B, C, H, W] (DiT's, scaled by 0.18215) -> images float32 numpy [B, 8H, 8W, 3] in [0, 1], as
        DiTPipeline decodes them; ValueError if the VAE's scaling factor is not the one DiT was trained with."""
        from entropic.networks import diffusers_folder
        folder = os.path.dirname(files['vae'][0])
        vae = diffusers_folder.load_vae(folder, device)
        if not math.isclose(vae.config.scaling_factor, LATENT_SCALE, rel_tol=1e-9):
            raise ValueError(f'{folder}: the VAE scales latents by {vae.config.scaling_factor}; DiT was trained on SD '
                             f'VAE latents scaled by {LATENT_SCALE}')
        return lambda latents: diffusers_folder.decode(vae, latents)

def repo(spec):
    """The entry's repository (its schema default where the entry is not yet default-filled)."""
    return spec.get('repo', REPOS[0])

def check_id2label(path):
    """The pipeline's class names (model_index.json, `id2label`) must be the ImageNet classes in our order
    (entropic.networks.imagenet): keys 0..999, and each entry's comma-separated names include our short name of that
    class. ValueError naming the file and the first class that differs: its labels would be other classes."""
    import json
    try:
        id2label = json.loads(Path(path).read_text()).get('id2label')
    except (OSError, ValueError) as err:
        raise ValueError(f'{path}: cannot read the pipeline index ({err})') from None
    names = imagenet.class_names()
    if not isinstance(id2label, dict) or set(id2label) != {str(k) for k in range(len(names))}:
        raise ValueError(f'{path}: id2label must name the {len(names)} ImageNet classes 0..{len(names) - 1}')
    for k, name in enumerate(names):
        given = [part.strip().lower() for part in str(id2label[str(k)]).split(',')]
        if name.lower() not in given:
            raise ValueError(f'{path}: id2label[{k}] is {id2label[str(k)]!r}, which does not name ImageNet class {k} '
                             f'({imagenet.class_wnids()[k]}, {name!r}); the pipeline numbers the classes in another order')

BACKEND = DiTBackend()
