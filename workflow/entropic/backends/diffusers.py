"""Any diffusers pipeline by configuration alone: a Hugging Face Hub repository or a local folder saved with
`save_pretrained`, read from its own files (entropic.networks.diffusers_pipeline).

A config entry names the `checkpoint` and a `partitions` file, and nothing else is required:

    models:
      my-ddpm:
        backend: diffusers
        checkpoint: models/my-ddpm          # a folder made by save_pretrained, or a Hub id such as owner/name
        partitions: config/partitions/my-ddpm.yaml

The folder's model_index.json and component configs say the rest: the denoiser (UNet2DModel, UNet2DConditionModel,
DiTTransformer2DModel, PixArtTransformer2DModel, SD3Transformer2DModel), its conditioning (class labels with a null
label, or prompts encoded as the pipeline class encodes them: SD1.x/2.x, SDXL's two encoders and time ids, SD3's
three, PixArt's T5), its parametrisation (epsilon, v, sample, flow velocity, learned variance), its noise process and
grid (the scheduler config's beta schedule, spacing and offset, or flow shift) and whether it samples latents (the
VAE with its scaling and shift factors) or pixels. A partition file of class indices (the format of
config/partitions/imagenet.yaml) makes class indices the hypotheses; a prompt file (the format of
config/prompts/sd15.yaml) makes prompts the hypotheses. What the backend cannot honour is refused by name when the
config is checked (once the files are there) and when a job loads the model; nothing is approximated silently.

A Hub checkpoint is fetched by the download rule into resources/hub/<owner>/<name> (its model_index.json last,
which marks the folder complete); a local folder's files are the sampling jobs' inputs, so that editing them reruns
what they feed.
"""

import os
import re
from pathlib import Path

from entropic.theory import partitions as P
from .base import Download, Model, file_errors, pixel_images, resolve, with_builtins
from .pretrained import BATCH, PretrainedBackend

#----------------------------------------------------------------------------

HUB_ID = re.compile(r'[A-Za-z0-9][\w.-]*/[\w.-]+')
INDEX = 'model_index.json'
ANY_CLASS = 1 << 31     # the bound of class indices before the network's class count is known

class DiffusersBackend(PretrainedBackend):
    name = 'diffusers'
    description = ('any diffusers pipeline, a Hugging Face Hub repository or a local save_pretrained folder, read from '
                   'its own files (a GPU advised); of the sampler settings only `steps` applies: the noise levels are '
                   'those its scheduler config lays out')
    schema = {
        'checkpoint': {'description': ('(required) the pipeline: a folder made by save_pretrained (relative to the '
                                       'project root, or absolute), or a Hugging Face Hub repository id (owner/name), '
                                       'which the download rule fetches into resources/hub/<owner>/<name>.'),
                       'type': 'string'},
        'revision': {'description': "a Hub checkpoint's branch, tag or commit (default: its main branch).",
                     'type': ['string', 'null'], 'default': None},
        'subfolder': {'description': ("the folder inside the checkpoint that holds the pipeline's model_index.json, "
                                      'where it is not at the top.'), 'type': ['string', 'null'], 'default': None},
        'partitions': {'description': ('(required) the hypotheses and their partitions, relative to the project root: '
                                       'a file of named partitions of class indices for a class-conditional model (the '
                                       'format of config/partitions/imagenet.yaml; -1 is the unconditional reference, '
                                       'the null label), or a prompt file for a text-conditional one (the format of '
                                       'config/prompts/sd15.yaml; the empty prompt is the reference). Every class or '
                                       'prompt in play costs one network call per step.'),
                       'type': 'string'},
        'null_label': {'description': ('the class index of the unconditional branch of a class-conditional model '
                                       '(default: its last class embedding, the label-dropout row of DiT and of the '
                                       'usual training).'), 'type': ['integer', 'null'], 'minimum': 0, 'default': None},
        'resolution': {'description': ("the image side in pixels (default: the network's native sample size times the "
                                       "VAE's downsampling); a multiple of the VAE's downsampling and the patch size."),
                       'type': ['integer', 'null'], 'minimum': 1, 'default': None},
        'batch': BATCH,
    }
    required = ('checkpoint', 'partitions')
    hypothesis_file = 'partitions'
    checkpoint_key = 'checkpoint'   # the entry's key that names the pipeline (a preset's: `repo`)
    load_keys = ('batch', 'null_label', 'resolution')

    # Where the pipeline is ---------------------------------------------------------------------------------

    def entry(self, spec):
        """The model entry in this backend's keys (checkpoint, partitions, ...): a family preset (sd15, sd21, sd3,
        dit) translates its own keys here; the generic entry is itself."""
        return spec

    def vae_folder(self, spec):
        """A VAE folder that replaces the pipeline's own (a preset's, in the working directory), or None."""
        return None

    def fetched(self, spec, root='.'):
        """Whether the download rule brings the pipeline's files (a Hub checkpoint, a preset's known files)."""
        return self.hub(spec, root)

    def hub(self, spec, root='.'):
        """Whether the checkpoint is a Hub repository id: of the form owner/name, and neither a folder of the project
        nor a path under one (`models/my_ddpm`, mistyped, is a missing local folder, not a download)."""
        spec = self.entry(spec)
        checkpoint = spec['checkpoint']
        return (bool(HUB_ID.fullmatch(checkpoint)) and not checkpoint.startswith('.')
                and not resolve(root, checkpoint.split('/')[0]).is_dir())

    def folder(self, spec, root='.'):
        """The pipeline folder as the jobs see it (relative to the project root where it lies inside it)."""
        spec = self.entry(spec)
        if self.hub(spec, root):
            folder = f"resources/hub/{spec['checkpoint']}" + (f"@{spec['revision']}" if spec.get('revision') else '')
        else:
            path = resolve(root, spec['checkpoint'])
            inside = not Path(spec['checkpoint']).is_absolute() and path.resolve().is_relative_to(Path(root).resolve())
            folder = os.path.normpath(spec['checkpoint']) if inside else str(path)
        return f"{folder}/{spec['subfolder']}" if spec.get('subfolder') else folder

    def files(self, spec):
        """The pipeline's files the jobs read, model_index.json first: a Hub pipeline's index (the download's mark of
        a complete folder), or every file of a local folder."""
        folder = self.folder(spec)
        if self.hub(spec):
            return [f'{folder}/{INDEX}']
        found = sorted(str(Path(top, name)) for top, dirs, names in os.walk(folder)
                       for name in names if not name.startswith('.')
                       if not any(part.startswith('.') for part in Path(top).relative_to(folder).parts))
        index = f'{folder}/{INDEX}'
        return [index] + [name for name in found if name != index]

    def model_downloads(self, spec):
        spec = self.entry(spec)
        if not self.hub(spec):
            return {}
        index = f"{spec['subfolder']}/{INDEX}" if spec.get('subfolder') else INDEX
        return {f'{self.folder(spec)}/{INDEX}': Download(repo=spec['checkpoint'], file=index,
                                                          revision=spec.get('revision'), pipeline=True)}

    # Configuration -----------------------------------------------------------------------------------------

    def check(self, spec, key, config, root):
        """The partition or prompt file; a local checkpoint that exists; and, once the pipeline's files are there,
        everything the sampling job would refuse (entropic.networks.diffusers_pipeline.describe): the network, its
        conditioning against the file's kind, the null label, the resolution, the grid of `steps`."""
        field = self.hypothesis_file
        spec = self.entry(spec)
        errors = file_errors({**spec, field: spec['partitions']}, field, key, root, read_hypotheses)
        if not self.fetched(spec, root):
            local = resolve(root, spec['checkpoint'])
            if not local.is_dir():
                return errors + [f"config key {key}.{self.checkpoint_key}: no folder {spec['checkpoint']!r} (relative to the "
                                 'project root) and not a Hugging Face Hub repository id (owner/name)']
            if not Path(spec['checkpoint']).is_absolute() and Path(root).resolve() != Path.cwd().resolve():
                return errors + [f"config key {key}.{self.checkpoint_key}: {spec['checkpoint']!r} is a relative folder, "
                                 'which the jobs read from the working directory, and this run works in '
                                 f'{Path.cwd()}, not the project root {root} (snakemake --directory); give the '
                                 'folder as an absolute path']
            if not (resolve(root, self.folder(spec, root)) / INDEX).is_file():
                return errors + [f'config key {key}.{self.checkpoint_key}: {self.folder(spec, root)} has no {INDEX}; give the '
                                 'folder save_pretrained wrote (or its subfolder: key subfolder)']
        # The download rule fills its folders in the working directory (where resources/ lies), not the project
        # root; a local checkpoint is a path of the config, relative to the project root.
        fetched = self.fetched(spec, root)
        folder = Path(self.folder(spec, root)) if fetched else resolve(root, self.folder(spec, root))
        if errors or not (folder / INDEX).is_file():
            return errors
        from entropic.networks import diffusers_folder, diffusers_pipeline, text_encoders
        vae = self.vae_folder(spec)
        try:
            pipeline = diffusers_pipeline.describe(folder, vae)
        except FileNotFoundError as err:
            # a download under way (a preset's files come one by one): the jobs check once it is complete
            return [] if fetched else [f'config key {key}.{self.checkpoint_key}: {err}']
        except ValueError as err:
            return [f'config key {key}.{self.checkpoint_key}: {err}']
        try:
            pipeline.shape(spec.get('resolution'))
        except ValueError as err:
            return [f"config key {key}.{'resolution' if spec.get('resolution') else self.checkpoint_key}: {err}"]
        try:
            diffusers_folder.noise_process(pipeline.scheduler).sigmas(spec['sampler'])
        except ValueError as err:
            return [f'config key {key}.sampler.steps: {folder}: {err}']
        prompts = text_encoders.is_prompt_file(resolve(root, spec['partitions']))
        if prompts != (pipeline.conditioning == 'prompts'):
            return [f"config key {key}.{field}: {spec['partitions']!r} is a "
                    f"{'prompt file' if prompts else 'file of class partitions'}, but {folder} is "
                    f"{'text' if pipeline.conditioning == 'prompts' else 'class'}-conditional; give a "
                    f"{'prompt file' if pipeline.conditioning == 'prompts' else 'file of class partitions'}"]
        if not prompts:
            try:
                pipeline.null_label(spec.get('null_label'))
            except ValueError as err:
                return [f'config key {key}.null_label: {err}']
        path = resolve(root, spec['partitions'])
        try:       # what the partitions job would refuse, but the prompts' tokens (it loads the tokenizers for them)
            found = text_encoders.read_prompt_file(path)[1] if prompts else classes(path, pipeline, spec.get('null_label'))
            labels = list(self.hypotheses(spec, config, root))
            if not labels:
                raise ValueError(f"{spec['partitions']}: no class in play; name at least one class in a partition")
            with_builtins(found, labels)
        except ValueError as err:
            return [f'config key {key}.{field}: {err}']
        return []

    # Hypotheses and partitions -----------------------------------------------------------------------------

    def hypotheses(self, spec, config, root):
        """Prompt k for a prompt file; class k (named 'class k') for every class in play of a partition file."""
        path = resolve(root, self.entry(spec)['partitions'])
        from entropic.networks import text_encoders
        if text_encoders.is_prompt_file(path):
            prompts, _ = text_encoders.read_prompt_file(path)
            return dict(enumerate(prompts))
        cells = P.read_partition_file(path, ANY_CLASS).values()
        return {k: self.class_name(k) for k in sorted({k for part in cells for cell in part for k in cell if k >= 0})}

    def class_name(self, k):
        """The name of class k in figures."""
        return f'class {k}'

    def partition_files(self, spec, config, root):
        # with the pipeline: the first job to have it refuses prompts its tokenizers cannot tell apart, and classes
        # it does not have, before any sampling
        return {'file': str(resolve(root, self.entry(spec)['partitions'])), 'pipeline': self.files(spec)}

    def partitions(self, spec, files):
        """The file's partitions, checked against the pipeline: prompts its tokenizers tell apart (a warning in the
        job's log for each one an encoder truncates), or classes it has other than its null label."""
        import logging
        from entropic.networks import diffusers_pipeline, text_encoders
        spec = self.entry(spec)
        pipeline = diffusers_pipeline.describe(os.path.dirname(files['pipeline'][0]), self.vae_folder(spec))
        if text_encoders.is_prompt_file(files['file']):
            prompts, partitions = text_encoders.read_prompt_file(files['file'])
            if pipeline.conditioning != 'prompts':
                raise ValueError(f"{files['file']}: a prompt file for the class-conditional {pipeline.folder}")
            for warning in text_encoders.check_prompts(pipeline.folder, pipeline.index, prompts, files['file']):
                logging.getLogger('entropic').warning(warning)
            return partitions
        return classes(files['file'], pipeline, spec.get('null_label'))

    # The model ---------------------------------------------------------------------------------------------

    def network_files(self, model, spec, run):
        return {'pipeline': self.files(spec)}

    def load(self, spec, files, hypotheses, device):
        from entropic.networks import diffusers_pipeline
        folder = os.path.dirname(files['pipeline'][0])
        vae = self.vae_folder(spec)     # `spec` holds only the load_keys
        prompts = diffusers_pipeline.describe(folder, vae).conditioning == 'prompts'
        denoiser, pipeline = diffusers_pipeline.load_denoiser(
            folder, list(hypotheses.values()) if prompts else list(hypotheses), device, max_batch=spec['batch'],
            null_label=spec.get('null_label'), resolution=spec.get('resolution'), source='the prompts in play',
            vae=vae)
        return Model(denoiser, list(hypotheses), pipeline.shape(spec.get('resolution')), denoiser.schedule, device)

    def decoder_files(self, spec):
        """The index (which says whether there is a VAE) and, for a local folder, the VAE's files."""
        files = self.files(spec)
        return [files[0]] + [name for name in files[1:] if f'{os.sep}vae{os.sep}' in name]

    def load_decoder(self, files, device):
        """The pipeline's VAE decoder (entropic.networks.diffusers_folder.decode), or pixels as they are."""
        from entropic.networks import diffusers_folder, diffusers_pipeline
        pipeline = diffusers_pipeline.describe(os.path.dirname(files['vae'][0]))
        if pipeline.vae is None:
            return pixel_images
        vae = diffusers_folder.load_vae(pipeline.folder / 'vae', device)
        return lambda latents: diffusers_folder.decode(vae, latents)

def read_hypotheses(path):
    """The hypotheses of a partitions file: a prompt file's prompts, or the classes of a file of class partitions."""
    from entropic.networks import text_encoders
    if text_encoders.is_prompt_file(path):
        return text_encoders.read_prompt_file(path)
    return P.read_partition_file(path, ANY_CLASS)

def classes(path, pipeline, null_label):
    """The partitions of class indices in `path`, checked against the pipeline's class embeddings and null label."""
    count = pipeline.class_embeddings()
    null = pipeline.null_label(null_label)
    partitions = P.read_partition_file(path, null if null == count - 1 else count)  # the classes, not the null label
    if any(k == null for part in partitions.values() for cell in part for k in cell):
        raise ValueError(f'{path}: class {null} is the null label of {pipeline.folder} (the unconditional reference, '
                         '-1 in a partition); it is not a class')
    return partitions

#----------------------------------------------------------------------------
# Presets: a known pipeline pinned, its files fetched one by one (sd15, sd21, sd3 and dit are such presets).

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
    checkpoint_key = 'repo'     # the key that picks the pipeline, named in the errors of its files
    load_keys = ('batch',)
    title = None        # the model's name in messages (SD1.5)
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

    def hub(self, spec, root='.'):
        return False        # its files are fetched one by one into resources/<name>, not as a Hub pipeline

    def files(self, spec):
        return [f'{repo_folder(self.repo(spec))}/{name}' for name in self.pipeline_files(spec)]

    def model_downloads(self, spec):
        return {path: Download(repo=self.repo(spec), file=name)
                for path, name in zip(self.files(spec), self.pipeline_files(spec))}

    def check(self, spec, key, config, root):
        errors = super().check(spec, key, config, root)
        scheduler = Path(repo_folder(self.repo(spec))) / 'scheduler' / 'scheduler_config.json'  # working directory
        if not scheduler.is_file() and not spec['sampler']['steps'] < self.steps:
            errors.append(f'config key {key}.sampler.steps: {self.title} has {self.steps} timesteps; need steps < '
                          f'{self.steps}')
        return errors

def repo_folder(repo):
    """Where the download rule puts a repository's files: resources/<its name>."""
    return f"resources/{repo.split('/')[-1]}"


BACKEND = DiffusersBackend()
