"""Config validation with one-line errors that name the key (workflow/schemas/config.schema.yaml).

`validate_config` checks the JSON schema and then what a schema cannot say (partition members that
exist, weights that match the components, figures that name existing experiments). The Snakefile
stops before any job runs if it returns anything.
"""

from pathlib import Path

import zlib

import jsonschema
import numpy as np
import yaml

from . import digits, imagenet
from .models import sd15
from .partitions import check_partition, read_partition_file

SCHEMA_PATH = Path(__file__).resolve().parents[1] / 'schemas' / 'config.schema.yaml'
PROJECT_ROOT = Path(__file__).resolve().parents[2]     # where relative paths in the config start

NUM_CLASSES = {'digits': digits.NUM_CLASSES, 'edm2': imagenet.NUM_CLASSES}   # what a partition file may name
BACKEND_KEYS = {      # model keys that only some backends read
    'experiment': ('gmm',), 'train_samples': ('gmm',), 'network': ('digits', 'gmm'), 'training': ('digits', 'gmm'),
    'reference': ('digits', 'gmm'), 'net': ('edm2',), 'gnet': ('edm2',), 'batch': ('edm2', 'sd15'),
    'partitions': ('digits', 'edm2'), 'prompts': ('sd15',), 'cloning': ('digits', 'gmm'),
}

#----------------------------------------------------------------------------

def load_schema(path=SCHEMA_PATH):
    return yaml.safe_load(Path(path).read_text())

def _key(path):
    return '.'.join(str(p) for p in path) or '<top level>'

def _describe(error):
    """One line for a jsonschema error: the key, what is wrong, and what is allowed."""
    key = _key(error.absolute_path)
    if error.validator == 'additionalProperties' and 'properties' in error.schema:
        allowed = ', '.join(error.schema['properties'])
        extra = sorted(set(error.instance) - set(error.schema['properties']))
        return f"config key {key}: unknown key(s) {', '.join(map(repr, extra))}; allowed keys: {allowed}"
    description = error.schema.get('description')
    hint = f' ({description.strip()})' if isinstance(description, str) and error.validator != 'required' else ''
    return f'config key {key}: {error.message}{hint}'

def schema_errors(config, schema=None):
    """One line per schema violation, most specific first."""
    schema = load_schema() if schema is None else schema
    validator = jsonschema.Draft202012Validator(schema)
    return [_describe(e) for e in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))]

def _partition_names(spec):
    """The partitions entropic.gmm.build_experiment gives an experiment."""
    names = ['classes']
    if spec['kind'] == 'hierarchical':
        names += ['superclasses'] + [f'subclasses-of-{s}' for s in range(spec['superclasses'])]
    return names + list(spec.get('partitions', {}))

def _gmm_errors(gmm):
    """Semantic checks of a schema-valid, default-filled `gmm` section."""
    errors = []
    experiments = gmm['experiments']
    for name, spec in experiments.items():
        key = f'gmm.experiments.{name}'
        if spec['kind'] == 'hierarchical':
            S, B = spec['superclasses'], spec['subclasses']
            K, directions = S * B, (S - 1) + S * (B - 1)
        else:
            K = spec['components']
            directions = K - 1
            weights = spec.get('weights')
            if weights is not None and (len(weights) != K or abs(sum(weights) - 1) > 1e-6):
                errors.append(f'config key {key}.weights: need {K} positive weights summing to 1, got {weights}')
        if spec['dim'] < directions:
            errors.append(f"config key {key}.dim: {spec['dim']} is too small; the means need dim >= {directions}")
        for part, cells in spec.get('partitions', {}).items():
            try:
                check_partition(cells, K, name=f'{key}.partitions.{part}')
            except ValueError as err:
                errors.append(f'config key {err}')
    figures = gmm['figures']
    known = ', '.join(experiments)
    named = [('gmm.figures.dimension_sweep', n) for n in figures['dimension_sweep']]
    named += [('gmm.track.experiments', n) for n in gmm['track']['experiments']]
    named += [('gmm.immse.experiments', n) for n in gmm['immse']['experiments']]
    named += [('gmm.figures.estimators', e) for e, _ in figures['estimators']]
    named += [('gmm.figures.clone_agreement', n) for n in figures['clone_agreement']]
    named += [(key, gmm[section][field]) for key, section, field in (
        ('gmm.tracker_bias.experiment', 'tracker_bias', 'experiment'), ('gmm.figures.guidance', 'figures', 'guidance'))
        if gmm[section][field]]
    for key, name in named:
        if name not in experiments:
            errors.append(f'config key {key}: unknown experiment {name!r}; experiments: {known}')
    for name, variant in gmm['track']['variants'].items():
        interval = variant.get('guidance_interval')
        if interval and not interval[0] < interval[1]:
            errors.append(f'config key gmm.track.variants.{name}.guidance_interval: need sigma_lo < sigma_hi, got {interval}')
        if variant.get('sigma_max') is not None and not variant['sigma_min'] < variant['sigma_max']:
            errors.append(f'config key gmm.track.variants.{name}: need sigma_min < sigma_max')
        if variant['estimate'] == 'combined' and variant['guidance'] != 1.0:
            errors.append(f'config key gmm.track.variants.{name}.estimate: combined needs unguided sampling (its '
                          "control variates have mean 0 only along the tracker's own kernels)")
        if variant['estimate'] == 'combined' and variant['kernel'] != variant['sampler_variance']:
            errors.append(f'config key gmm.track.variants.{name}.estimate: combined needs the same kernel variance for '
                          f"tracking and sampling (kernel {variant['kernel']!r}, sampler_variance "
                          f"{variant['sampler_variance']!r})")
    guided = figures['guidance']
    if guided and (guided not in gmm['track']['experiments'] or 'track' not in gmm['track']['variants']):
        errors.append("config key gmm.figures.guidance: the experiment must be in gmm.track.experiments and a "
                      "variant named 'track' (the unguided reference) must exist")
    for experiment, partition in figures['estimators']:
        if experiment in experiments and partition not in _partition_names(experiments[experiment]):
            errors.append(f'config key gmm.figures.estimators: experiment {experiment!r} has no partition {partition!r}; '
                          f'it has {", ".join(_partition_names(experiments[experiment]))}')
    study = gmm.get('guidance_study')
    if study is not None:
        if study.get('experiment') not in experiments:
            errors.append(f"config key gmm.guidance_study.experiment: {study.get('experiment')!r} is not an experiment; "
                          f'experiments: {known}')
        errors += _study_errors(study, 'gmm.guidance_study')
        if 'statistics' in study:
            errors.append('config key gmm.guidance_study.statistics: only edm2 and sd15 studies use it')
    for name in figures['clone_agreement']:
        spec = experiments.get(name)
        if spec is not None and not (spec['kind'] == 'simplex' and spec['components'] == 2 and spec['variance'] == 1
                                     and spec['signal_per_dim'] == 1 and spec.get('weights') in (None, [0.5, 0.5])):
            errors.append(f"config key gmm.figures.clone_agreement: {name!r} is not Biroli et al.'s mixture (kind simplex, "
                          'components 2, equal weights, signal_per_dim 1, variance 1)')
    hierarchy = figures['hierarchy']
    if hierarchy and experiments.get(hierarchy, {}).get('kind') != 'hierarchical':
        errors.append(f'config key gmm.figures.hierarchy: {hierarchy!r} is not a hierarchical experiment')
    return errors

def _study_errors(study, key):
    """Checks shared by the guidance studies of models and of the gmm track."""
    if study['scale'] not in study['scales']:
        return [f"config key {key}: `scale` ({study['scale']:g}) must be one of `scales` {study['scales']}, so that "
                'CFG everywhere at the same scale is compared']
    return []

def _model_errors(models, gmm, root):
    """Semantic checks of a schema-valid, default-filled `models` section."""
    errors = []
    for name, spec in models.items():
        key = f'models.{name}'
        if spec['backend'] == 'gmm' and spec['experiment'] not in gmm['experiments']:
            errors.append(f"config key {key}.experiment: unknown experiment {spec['experiment']!r}; "
                          f"experiments: {', '.join(gmm['experiments'])}")
        if spec['backend'] in ('digits', 'edm2', 'sd15'):
            field = 'prompts' if spec['backend'] == 'sd15' else 'partitions'
            path = Path(root) / spec[field]
            if not Path(spec[field]).is_absolute() and not path.resolve().is_relative_to(Path(root).resolve()):
                errors.append(f"config key {key}.{field}: {spec[field]!r} lies outside the project; "
                              'give an absolute path to use a file elsewhere')
            elif not path.is_file():
                errors.append(f"config key {key}.{field}: no file {spec[field]!r} (relative to the project root)")
            else:
                try:
                    if field == 'prompts':
                        sd15.read_prompt_file(path)
                    else:
                        read_partition_file(path, NUM_CLASSES[spec['backend']])
                except ValueError as err:
                    errors.append(f'config key {key}.{field}: {err}')
        if spec['backend'] == 'sd15' and not spec['sampler']['steps'] < 1000:
            errors.append(f"config key {key}.sampler.steps: SD1.5 has 1000 timesteps; need steps < 1000")
        runs = spec['runs']
        if runs.get('unguided', {}).get('guidance', None) != 1.0:
            errors.append(f"config key {key}.runs: needs a run named 'unguided' without guidance (the baseline of "
                          f"every curve and figure); runs: {', '.join(runs)}")
        for run_name, run in runs.items():
            if run_name in ('exact', 'empirical', 'exact-denoiser'):
                errors.append(f'config key {key}.runs.{run_name}: the name is reserved for a reference curve')
            interval = run.get('guidance_interval')
            if interval and not interval[0] < interval[1]:
                errors.append(f'config key {key}.runs.{run_name}.guidance_interval: need sigma_lo < sigma_hi, got {interval}')
            placed = run.get('guidance_placement')
            if placed is not None:
                source = runs.get(placed['source'])
                if source is None or source.get('guidance', 1.0) != 1.0 or 'guidance_placement' in source:
                    errors.append(f"config key {key}.runs.{run_name}.guidance_placement.source: {placed['source']!r} "
                                  f"is not an unguided run of the model; runs: {', '.join(runs)}")
                if 'guidance_interval' in run:
                    errors.append(f'config key {key}.runs.{run_name}: give guidance_interval or guidance_placement, not both')
            trajectories = run.get('trajectories', spec['trajectories'])
            if spec['shards'] > trajectories:
                errors.append(f"config key {key}.shards: {spec['shards']} shards for {trajectories} trajectories "
                              f"(run {run_name}); need shards <= trajectories")
        study = spec.get('guidance_study')
        if study is not None:
            source = runs.get(study['source'])
            if source is None or source.get('guidance', 1.0) != 1.0:
                errors.append(f"config key {key}.guidance_study.source: {study['source']!r} is not an unguided run "
                              f"of the model; runs: {', '.join(runs)}")
            if 'experiment' in study:
                errors.append(f'config key {key}.guidance_study.experiment: only gmm.guidance_study names an experiment')
            pretrained = spec['backend'] in ('edm2', 'sd15')
            if pretrained and 'statistics' not in study:
                errors.append(f'config key {key}.guidance_study.statistics: required for the {spec["backend"]!r} '
                              'backend (reference statistics of real images for FID and FD-DINOv2)')
            if not pretrained and 'statistics' in study:
                errors.append(f'config key {key}.guidance_study.statistics: only edm2 and sd15 studies use it')
            errors += _study_errors(study, f'{key}.guidance_study')
        if not spec['sampler']['sigma_min'] < spec['sampler']['sigma_max']:
            errors.append(f'config key {key}.sampler: need sigma_min < sigma_max')
        outside = [s for s in spec.get('cloning', {}).get('levels', []) if not
                   spec['sampler']['sigma_min'] <= s <= spec['sampler']['sigma_max']]
        if outside:
            errors.append(f"config key {key}.cloning.levels: {outside} lie outside the sampler's range "
                          f"[{spec['sampler']['sigma_min']:g}, {spec['sampler']['sigma_max']:g}]")
    return errors

def _foreign_key_errors(models):
    """Keys a model sets that its backend does not read (checked before the schema fills in defaults)."""
    errors = []
    for name, spec in models.items():
        foreign = sorted(k for k in BACKEND_KEYS if k in spec and spec['backend'] not in BACKEND_KEYS[k])
        foreign += sorted(f'runs.{r}.{k}' for r, run in (spec.get('runs') or {}).items() for k in ('net', 'gnet')
                          if k in run and spec['backend'] != 'edm2')
        if foreign:
            errors.append(f"config key models.{name}: {', '.join(foreign)} do not apply to the "
                          f"{spec['backend']!r} backend")
    return errors

def validate_config(config, schema_path=SCHEMA_PATH, root=PROJECT_ROOT):
    """Every problem with a config as one line each (empty when valid); fills in the schema's defaults."""
    errors = schema_errors(config, load_schema(schema_path)) or _foreign_key_errors(config.get('models') or {})
    if errors:
        return errors
    from snakemake.utils import validate   # fills nested defaults; imported here so the library imports without it
    validate(config, str(schema_path), set_default=True)
    return _gmm_errors(config['gmm']) + _model_errors(config['models'], config['gmm'], root)

def derive_seed(base, *keys):
    """A 32-bit seed from the config's seed and names (an experiment, an estimator): stable across runs
    and machines, different for different names."""
    entropy = [int(base)] + [zlib.crc32(str(k).encode()) for k in keys]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])
