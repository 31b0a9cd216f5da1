"""The backend contract: every question the pipeline asks of a model family, answered in one place.

The paper's method needs nothing from a model but a conditional and an unconditional denoiser
(Handke et al. 2026, arXiv:2602.09651, section 2), so every model family is one `Backend`: the rules,
scripts, configuration and figures ask it, and none of them compares a backend's name. A backend says

- which config keys it reads (a JSON-schema fragment) and what it refuses beyond the schema (`check`);
- its hypotheses (classes, prompts) and how its partition file names them (`hypotheses`, `partitions`);
- which files it needs and how to obtain them (`downloads`, `network_files`; training for `trains`);
- how to load it as the denoiser D(x, sigma, labels) in EDM coordinates, with its noise schedule and
  initial state (`load`, returning a `Model`);
- how an x0 estimate becomes pixels (`decoder_files`, `load_decoder`);
- which resources its jobs need (`gpu`) and which figures and sample-quality metrics apply.

A model family is added by one module in this package that defines a subclass and assigns an instance
to the module-level name `BACKEND` (entropic.backends discovers it); tests/backends/<name>.py builds a tiny
instance for the common contract suite (tests/test_backends.py).
"""

import dataclasses

from entropic.files import download
from entropic.theory.partitions import UNCONDITIONAL

#----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Download:
    """Where one file under resources/ comes from: an HTTP(S) URL, or a file of a Hugging Face Hub repository;
    and what is known of its bytes (`size`, `sha256`), against which a download and a file placed by hand are
    checked (entropic.files.download.check_file)."""
    url:  str = None    # the file's URL (resumable HTTP download, entropic.files.download.download_url)
    repo: str = None    # or: the hub repository id ...
    file: str = None    # ... and the file's path inside it; the target path ends with this path
    revision: str = None    # the repository's branch, tag or commit (None: its default branch)
    pipeline: bool = False  # the file is a diffusers pipeline's model_index.json, fetched last with every file of
                            # the components it names (entropic.files.hub.download_pipeline)

    # Read from the one table of entropic.files.download.KNOWN (cited values only), by URL or by repository and file:
    # the download rule's job receives the URL or the repository and file and looks them up there too, so that
    # the config check and the job cannot disagree.
    @property
    def size(self):
        """Its size in bytes, or None where no public page gives it."""
        return download.known(self.url, self.repo, self.file)[0]

    @property
    def sha256(self):
        """Its sha256 in hex (or a prefix of it of at least 8 digits, as a file name may carry), or None."""
        return download.known(self.url, self.repo, self.file)[1]

@dataclasses.dataclass
class Model:
    """A model loaded for sampling: what a sampling job needs and nothing it must work out again."""
    denoiser: object    # D(x, sigma, labels) -> x0 estimate in EDM coordinates (entropic.method.denoisers)
    classes:  list      # the labels in play (class or prompt indices); UNCONDITIONAL is the reference
    shape:    tuple     # the shape of one sample: (dim,) for flat data, (C, H, W) for latents
    schedule: object    # its noise process and sampling grid (entropic.theory.noise.EDMSchedule, DDPMSchedule)
    device:   str       # where the denoiser runs and the sampler's state lives

    def sigmas(self, settings):
        """The sampler's noise levels for the model's `sampler` settings: decreasing, ending at 0; the first may
        be inf, pure noise (a flow-matching model's t = 1, entropic.theory.noise.FlowSchedule)."""
        return self.schedule.sigmas(settings)

    def init_std(self, sigmas):
        """Standard deviation of the sampler's start in EDM coordinates (entropic.theory.noise schedules); 1 for a start
        at sigma = inf, where the sampler and the denoiser hold the state standardised (entropic.method.sampler)."""
        return self.schedule.init_std(sigmas)

#----------------------------------------------------------------------------

class Backend:
    """A model family. Subclasses set the class attributes and override the methods that apply to them;
    what a method's default does (or refuses) is part of the contract."""

    name            = None      # the config value models.<name>.backend
    description     = ''        # one line for the schema and the docs
    schema          = {}        # JSON-schema properties of the model keys only this backend reads
    required        = ()        # of those, the keys every model of this backend must set
    run_schema      = {}        # JSON-schema properties of the run keys only this backend reads
    hypothesis_file = None      # the model key that names its file of hypotheses and partitions, if any
    trains          = False     # a network trained inside the DAG (rule model_train) rather than downloaded
    gpu             = False     # its sampling, decoding and metric jobs want a GPU
    reference       = None      # estimator name of an exact reference curve of its data ('exact', 'empirical')
    reference_label = None      # the legend of that curve in figures
    figures         = ()        # model figures beyond entropy and guidance: 'samples', 'speciation', 'images'
                                # (what each needs: docs/extending.md, rules a backend follows)
    study_metric    = None      # what the guidance study's interval search minimises (a metric of study_metrics)
    study_statistics = False    # its guidance study needs reference statistics of real images (`statistics`)
    exact_tracker   = False     # the tracker is also run with the exact denoiser of its data (rule model_exact_tracker)
    schedule_x0     = None      # the clean samples x0 of the schedule study's measured mmse (rule model_schedule_study):
                                # 'training' (training_data: what the network learnt), or 'samples' (the final samples
                                # of the unconditional model in the study's source run: a proxy where no data is at
                                # hand); None: no schedule study (its schema has no `schedule_study` key)
    data_keys       = ()        # the model keys its training data depend on (what `training_data` reads)
    load_keys       = ()        # the model keys `load` reads besides the network files

    def __repr__(self):
        return f'<backend {self.name}>'

    # Configuration --------------------------------------------------------------------------------------

    def check(self, spec, key, config, root):
        """Semantic errors of a schema-valid, default-filled model entry `spec` at config key `key`, one line
        each naming the key (files that must exist, values the schema cannot relate); `config` is the whole
        config, `root` the project folder that relative paths start from."""
        return []

    # Hypotheses and partitions --------------------------------------------------------------------------

    def hypotheses(self, spec, config, root):
        """{label: name} of the hypotheses in play, in label order: what a trajectory is conditioned on.
        A sampling job depends on this and not on the partition file, so that editing a partition reruns
        only the readouts while changing the hypotheses in play reruns sampling. Names label figures."""
        raise NotImplementedError(f'backend {self.name!r} does not define its hypotheses')

    def partition_files(self, spec, config, root):
        """{name: path} of the files the partitions are read from (rule model_partitions); `root` is the
        project folder that the config's relative paths start from. A file the config names (a partition or
        prompt file) is given resolved against `root` (`resolve`: an absolute path) and is recorded by its
        place in the project and its digest, not as an input, so that a moved project reruns nothing; a file
        of the working directory (results/, resources/) is a relative path and an input of the job."""
        return {}

    def partitions(self, spec, files):
        """The partitions a model's file defines, {name: cells of labels}; built-in ones are added by
        `all_partitions`. `spec` is the model's config entry with the defaults filled in (what `hypotheses`
        reads, such as a class count, is there), `files` the partition_files as paths. Rule model_partitions
        reruns when the hypotheses in play, the `data_keys` or these files change, not on other keys."""
        return {}

    def all_partitions(self, spec, files, labels):
        """The built-in partitions (`classes` and the paper's binary form `<k>-vs-reference` for every label in
        play, arXiv:2602.09651 section 2.1) and the file's (`partitions(spec, files)`), which may not redefine
        them."""
        return with_builtins(self.partitions(spec, files), labels)

    def top_eigenvalue(self, data, labels):
        """Lambda, the top eigenvalue of the covariance of the data of the labels in play (the speciation
        scale, Biroli et al. 2024, arXiv:2402.18491), or None where the data distribution is not known."""
        return None

    # Files ----------------------------------------------------------------------------------------------

    def downloads(self, spec):
        """{path under the project: Download} of the files this model needs that a download rule fetches."""
        return {}

    def network_files(self, model, spec, run):
        """{name: path} of the files one run of `model` samples from (the sampling job's inputs)."""
        raise NotImplementedError(f'backend {self.name!r} does not name its network files')

    def data_files(self, spec, config):
        """{name: path} of the files its training data and exact reference are built from (none by default)."""
        return {}

    # The model ------------------------------------------------------------------------------------------

    def load(self, spec, files, hypotheses, device):
        """The `Model` of one run on `device`: `spec` holds the model's `load_keys`, `files` the run's
        network_files as paths, `hypotheses` what `hypotheses` gave; errors name the file."""
        raise NotImplementedError(f'backend {self.name!r} cannot be loaded')

    def device(self):
        """Where its networks run: the GPU when it wants one and one is present, else the CPU."""
        if not self.gpu:
            return 'cpu'
        import torch
        return 'cuda' if torch.cuda.is_available() else 'cpu'

    def decoder_files(self, spec):
        """The files of the decoder that turns its samples into pixels (rule model_images reads them as the key
        `vae`); none for a model whose samples are pixels already."""
        return []

    def load_decoder(self, files, device):
        """samples [N, *shape] -> images float32 numpy [N, H, W, 3] in [0, 1], for the `images` figure. The
        default is for samples that are pixels already (`pixel_images`); a latent model's backend names its
        decoder in `decoder_files` and loads it here."""
        return pixel_images

    # Data, quality, guidance study ----------------------------------------------------------------------

    def training_data(self, spec, files, seed):
        """`Data` of a trained backend (its samples and labels) from the model's `data_keys` in `spec`, its
        data_files and a seed; pretrained backends have none."""
        raise NotImplementedError(f'backend {self.name!r} has no training data')

    def reference_curve(self, data, cells, sigmas, settings, rng):
        """The exact entropy curve of the data for one partition, on the increasing levels `sigmas`
        (entropic.theory.exact / entropic.theory.point_masses curve dict); only for backends with a `reference`."""
        raise NotImplementedError(f'backend {self.name!r} has no exact reference curve')

    def sample_quality(self, data, seed):
        """x [N, ...], labels [N] -> {'accuracy', 'near_copies'} of generated samples; None where no
        reference classifier exists."""
        return None

    def study_files(self, spec, config):
        """{name: path or [paths]} of what the guidance study's metrics read (rule guidance_study_metrics)."""
        return {}

    def study_metrics(self, spec, files, data, seed, log, metrics=None):
        """measure(x [N, *shape], labels [N], folds) -> {metric, metric_lo, metric_hi}: the guidance study's
        quality and diversity metrics of one method's samples with confidence intervals over disjoint folds
        (entropic.studies.sample_metrics.replicate_metrics); `data` is training_data's, None for pretrained backends.
        `metrics`, names of those metrics, asks for them alone (the tuning set's interval search reads only
        study_metric), so that a backend may skip the work of the others; None asks for all. ValueError
        naming a metric it does not measure."""
        raise NotImplementedError(f'backend {self.name!r} has no guidance-study metrics')

    # Schedule study -------------------------------------------------------------------------------------

    def schedule_files(self, spec, config):
        """{name: path or [paths]} of what the schedule study's metrics read (rule model_schedule_study), besides
        the network and its x0 (`schedule_x0`); none by default."""
        return {}

    def schedule_metrics(self, spec, files, data, seed, log):
        """measure(x [N, *shape] numpy, labels [N]) -> {metric: value}: the quality of one set of samples of the
        schedule study (entropic.studies.schedule_study.network_study; the metrics are named in its METRICS), its interval
        being over seeds, not folds. `spec` holds the model's `load_keys`, `files` its schedule_files as paths,
        `data` training_data's (None where `schedule_x0` is not 'training')."""
        raise NotImplementedError(f'backend {self.name!r} has no schedule-study metrics')

#----------------------------------------------------------------------------

def schedule_study_schema(mmse_samples, metrics, extra=None, required=()):
    """The `schedule_study` model key of a backend that has one (`schedule_x0`): the grids, budgets and seeds
    every network's study shares, with `mmse_samples` describing what its measured mmse draws x0 from, `metrics`
    what it measures, and `extra` properties (`required` among them) of its own."""
    return {
        'description': ("Beyond the paper: what the sampler's grid buys at few evaluations on this network "
                        "(entropic.studies.schedule_study.network_study): EDM's grid against the entropic time and its rescaled "
                        "form (from the network's measured mmse) and the semantic time (from the `source` run's class "
                        "entropy), sampled by the deterministic ODE sampler on the sampler's sigma range; "
                        f'class-conditional samples at each guidance scale and unconditional ones, {metrics}; figure '
                        'and table <model>_schedules. Absent: none.'),
        'type': 'object', 'additionalProperties': False, **({'required': list(required)} if required else {}),
        'properties': {
            'source': {'description': 'The unguided run whose class entropy (partition `classes`) places the semantic '
                                      'grids.',
                       'type': 'string', 'default': 'unguided'},
            'nfe': {'description': ('Denoiser evaluations per sample: Euler takes N = nfe intervals, Heun the largest N '
                                    'with 2N - 1 <= nfe. A guided evaluation counts once.'),
                    'type': 'array', 'items': {'type': 'integer', 'minimum': 3}, 'minItems': 1,
                    'default': [5, 7, 11, 15, 31]},
            'solvers': {'description': "The ODE solvers: 'heun' and 'euler'.", 'type': 'array',
                        'items': {'enum': ['heun', 'euler']}, 'minItems': 1, 'uniqueItems': True, 'default': ['heun']},
            'lambdas': {'description': 'Weights lambda of the class entropy in the semantic time, one grid each.',
                        'type': 'array', 'items': {'type': 'number', 'exclusiveMinimum': 0, 'maximum': 1},
                        'uniqueItems': True, 'default': [0.5, 1.0]},
            'guidance': {'description': 'Guidance scales w of the class-conditional samples (1: unguided).',
                         'type': 'array', 'items': {'type': 'number', 'minimum': 1}, 'minItems': 1, 'uniqueItems': True,
                         'default': [1.0, 2.0]},
            'seeds': {'description': 'Independent sets of starts, the same for every grid; intervals are Student-t '
                                     'over them.',
                      'type': 'integer', 'minimum': 2, 'default': 5},
            'samples': {'description': 'Samples per seed and setting (class-conditional ones cycle over the classes).',
                        'type': 'integer', 'minimum': 10, 'default': 100},
            'mmse': {'description': ("The network's measured mmse that places the entropic grids "
                                     "(entropic.method.schedules.measured_mmse), on log-uniform levels of the sampler's range."),
                     'type': 'object', 'additionalProperties': False, 'default': {},
                     'properties': {
                         'levels': {'description': 'Tabulated levels.', 'type': 'integer', 'minimum': 16, 'default': 33},
                         'samples': {'description': mmse_samples, 'type': 'integer', 'minimum': 2, 'default': 256}}},
            **(extra or {}),
        },
    }

@dataclasses.dataclass
class Data:
    """A trained backend's data: what its network learns, and what its exact reference is computed from."""
    x:           object         # [N, d] float32 tensor
    labels:      object         # [N] long tensor of class indices
    num_classes: int
    mixture:     object = None  # the entropic.theory.mixtures.GaussianMixture the samples came from, if any

def with_builtins(extra, labels):
    """The partitions `extra` of a file with the built-in ones of the `labels` in play before them (`classes`, and
    `<k>-vs-reference` for every label, arXiv:2602.09651 section 2.1); ValueError naming those the file redefines
    with other cells."""
    built = {'classes': [[k] for k in labels]}
    built.update({f'{k}-vs-reference': [[k], [UNCONDITIONAL]] for k in labels})
    clash = sorted(name for name in set(extra) & set(built) if extra[name] != built[name])
    if clash:
        raise ValueError(f'partitions {clash} redefine built-in partitions (classes, <k>-vs-reference) '
                         'with other cells; give them other names')
    return {**built, **extra}

def pixel_images(x):
    """Samples that are pixels in [-1, 1] as images float32 numpy [N, H, W, 3] in [0, 1], clipped: x [N, C, H, W]
    with C = 1 (grey, repeated) or 3 (RGB), or flat x [N, h * h] as h x h grey images (the digits' 64 pixels).
    ValueError naming the shape otherwise: latents need their backend's decoder (`decoder_files`, `load_decoder`)."""
    import numpy as np
    x = np.asarray(x, dtype=np.float32)
    side = np.sqrt(x.shape[-1]).round().astype(int) if x.ndim == 2 else 0
    if x.ndim == 2 and side * side == x.shape[-1]:
        x = x.reshape(len(x), 1, side, side)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f'samples of shape {tuple(x.shape[1:])} are not pixels ([C, H, W] with C = 1 or 3, or h * h '
                         'values): a backend whose samples are latents names its decoder in decoder_files and loads '
                         'it in load_decoder')
    return np.repeat(np.clip((x.transpose(0, 2, 3, 1) + 1) / 2, 0, 1), 3 // x.shape[1], axis=-1)

def resolve(root, path):
    """A path of the config, relative to the project root `root` unless absolute."""
    from pathlib import Path
    return Path(path) if Path(path).is_absolute() else Path(root) / path

def file_errors(spec, field, key, root, read):
    """Errors of the file a model key names (`field`, at config key `key`): it must lie in the project (or be
    given as an absolute path), exist, and be read by `read(path)` without ValueError."""
    from pathlib import Path
    path = resolve(root, spec[field])
    if not Path(spec[field]).is_absolute() and not path.resolve().is_relative_to(Path(root).resolve()):
        return [f"config key {key}.{field}: {spec[field]!r} lies outside the project; "
                'give an absolute path to use a file elsewhere']
    if not path.is_file():
        return [f'config key {key}.{field}: no file {spec[field]!r} (relative to the project root)']
    try:
        read(path)
    except ValueError as err:
        return [f'config key {key}.{field}: {err}']
    return []
