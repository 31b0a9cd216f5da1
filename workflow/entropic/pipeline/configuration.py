"""Config validation with one-line errors that name the key.

The schema is the package's config.schema.yaml with every registered backend's own model and run keys
added (entropic.backends): a model entry is checked against the keys of its backend. `validate_config`
checks the schema, fills in its defaults, and then checks what a schema cannot say (partition members that
exist, weights that match the components, figures that name existing experiments, and each backend's own
refusals). The Snakefile stops before any job runs if it returns anything.
"""

import copy
import functools
import importlib.resources
import sys
import zlib

# jsonschema imports rfc3987_syntax where it is installed (the jupyter packages install it) for its `iri`
# format checks, and that module builds some 35 Lark parsers at import: 0.7 s of every Snakemake start,
# the main process and every cluster job's (jsonschema issue #1428). The config schema checks no `format`,
# so this process goes without it, unless something imported it already.
sys.modules.setdefault('rfc3987_syntax', None)
import jsonschema  # noqa: E402
import numpy as np
import yaml

from entropic import backends
from entropic.files import download
from entropic.theory.partitions import check_partition
from entropic.method.runs import Run, model_runs

#----------------------------------------------------------------------------

def base_schema():
    """The schema of everything but the backends' own keys (config.schema.yaml in the package)."""
    return yaml.safe_load(importlib.resources.files('entropic').joinpath('config.schema.yaml').read_text())

@functools.cache
def _config_schema():
    schema = base_schema()
    defs = schema['$defs']
    model, run = defs.pop('model'), defs.pop('model_run')
    branches = []
    every_key = {k for b in backends.registry().values() for k in b.schema}
    every_run_key = {k for b in backends.registry().values() for k in b.run_schema}
    for name, backend in backends.registry().items():
        entry, run_entry = copy.deepcopy(model), copy.deepcopy(run)
        entry['properties']['backend'] = {'const': name, 'description': backend.description}
        entry['properties'].update(copy.deepcopy(backend.schema))
        entry['required'] = ['backend', *backend.required]
        entry['properties']['runs']['additionalProperties'] = {'$ref': f'#/$defs/run_{name}'}
        run_entry['properties'].update(copy.deepcopy(backend.run_schema))
        entry['x-backend'] = run_entry['x-backend'] = name       # names the backend in errors (_describe) ...
        entry['x-foreign'] = sorted(every_key - set(backend.schema))  # ... of keys only other backends read
        run_entry['x-foreign'] = sorted(every_run_key - set(backend.run_schema))
        defs[f'model_{name}'], defs[f'run_{name}'] = entry, run_entry
        branches.append({'if': {'properties': {'backend': {'const': name}}, 'required': ['backend']},
                         'then': {'$ref': f'#/$defs/model_{name}'}})
    defs['model'] = {'type': 'object', 'required': ['backend'], 'allOf': branches,
                     'properties': {'backend': {'description': model['properties']['backend']['description'],
                                                'enum': list(backends.registry())}}}
    return schema

def config_schema():
    """The whole config schema (JSON Schema 2020-12 as a dict): the base schema, and for a model of each
    registered backend the common model and run keys plus that backend's `schema` and `run_schema`."""
    return copy.deepcopy(_config_schema())

def _key(path):
    return '.'.join(str(p) for p in path) or '<top level>'

def _describe(error):
    """One line for a jsonschema error: the key, what is wrong, and what is allowed."""
    key = _key(error.absolute_path)
    if error.validator == 'additionalProperties' and 'properties' in error.schema:
        allowed = ', '.join(error.schema['properties'])
        extra = sorted(set(error.instance) - set(error.schema['properties']))
        foreign = [k for k in extra if k in error.schema.get('x-foreign', ())]
        if foreign:     # keys that only other backends read
            return (f"config key {key}: {', '.join(foreign)} do not apply to the {error.schema['x-backend']!r} "
                    f'backend; its keys: {allowed}')
        return f"config key {key}: unknown key(s) {', '.join(map(repr, extra))}; allowed keys: {allowed}"
    description = error.schema.get('description')
    hint = f' ({description.strip()})' if isinstance(description, str) and error.validator != 'required' else ''
    return f'config key {key}: {error.message}{hint}'

def _resolve(schema, root):
    """`schema` with a local `$ref` ('#/$defs/name') followed."""
    while isinstance(schema, dict) and '$ref' in schema:
        schema = root['$defs'][schema['$ref'].split('/')[-1]]
    return schema

def _read_scalar(text, schema):
    """`text` read as the YAML scalar it spells when the schema wants a number, an integer, a boolean or a
    non-string enum member and it is one ('330' -> 330, '1e-3' -> 0.001, 'True' -> True); otherwise `text`."""
    kind, enum = schema.get('type'), schema.get('enum')
    if kind not in ('integer', 'number', 'boolean') and not any(not isinstance(e, str) for e in enum or ()):
        return text
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str):      # YAML 1.1 reads 1e-3 (no dot) as a string; JSON and Python read a number
        try:
            value = float(text)
        except ValueError:
            return text
    if isinstance(value, float) and not np.isfinite(value):
        return text
    if enum is not None:
        return next((e for e in enum if e == value and type(e) is type(value)), text)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    fits = {'integer': number and value == int(value), 'number': number, 'boolean': isinstance(value, bool)}[kind]
    return (int(value) if kind == 'integer' else value) if fits else text

def coerce_to_schema(value, schema, root=None):
    """`value` with every string that the schema wants as another type read as that type, in place.

    Snakemake hands nested `--config` values (and a profile's `config:`) over as strings ('330'), while a
    config file gives typed YAML (330): this makes every way of setting a key give the same typed value. A
    string that cannot be read as its type is left alone, for the schema check to name its key. An integral
    float where the schema wants an integer (300.0) becomes that integer.
    """
    root = schema if root is None else root
    schema = _resolve(schema, root)
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        for branch in schema.get('allOf', ()):      # a model entry: the keys of its backend (config_schema)
            condition = branch.get('if', {}).get('properties', {})
            if 'then' in branch and condition and all(value.get(k) == v.get('const') for k, v in condition.items()):
                coerce_to_schema(value, branch['then'], root)
        properties, extra = schema.get('properties', {}), schema.get('additionalProperties')
        for key, item in value.items():
            sub = properties.get(key, extra)
            if isinstance(sub, dict):
                value[key] = coerce_to_schema(item, sub, root)
        return value
    if isinstance(value, list):
        prefix, items = schema.get('prefixItems', []), schema.get('items')
        for i, item in enumerate(value):
            sub = prefix[i] if i < len(prefix) else items
            if isinstance(sub, dict):
                value[i] = coerce_to_schema(item, sub, root)
        return value
    if isinstance(value, float) and schema.get('type') == 'integer' and value.is_integer():
        return int(value)       # the schema's type: 300.0 where an integer is wanted is 300 (JSON Schema accepts both)
    return _read_scalar(value, schema) if isinstance(value, str) else value

def _with_defaults(validator_class):
    """The validator class that also fills in every missing key that has a default, as it validates
    (the recipe of the jsonschema FAQ); the defaults are copied, never shared between entries."""
    properties = validator_class.VALIDATORS['properties']

    def fill(validator, schema_properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in schema_properties.items():
                if 'default' in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub['default'])
        yield from properties(validator, schema_properties, instance, schema)
    return jsonschema.validators.extend(validator_class, {'properties': fill})

def schema_errors(config, schema=None, fill_defaults=False):
    """One line per schema violation, most specific first; with fill_defaults, the config's missing keys
    take their defaults as it is checked."""
    schema = config_schema() if schema is None else schema
    cls = _with_defaults(jsonschema.Draft202012Validator) if fill_defaults else jsonschema.Draft202012Validator
    return [_describe(e) for e in sorted(cls(schema).iter_errors(config), key=lambda e: list(e.absolute_path))]

def _partition_names(spec):
    """The partitions entropic.theory.mixtures.build_experiment gives an experiment."""
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
    named += [('gmm.schedule_study.experiments', n) for n in gmm.get('schedule_study', {}).get('experiments', [])]
    named += [(key, gmm[section][field]) for key, section, field in (
        ('gmm.tracker_bias.experiment', 'tracker_bias', 'experiment'), ('gmm.figures.guidance', 'figures', 'guidance'))
        if gmm[section][field]]
    for key, name in named:
        if name not in experiments:
            errors.append(f'config key {key}: unknown experiment {name!r}; experiments: {known}')
    for name, variant in gmm['track']['variants'].items():
        run = Run.from_config(name, variant)
        if run.interval and not run.interval[0] < run.interval[1]:
            errors.append(f'config key gmm.track.variants.{name}.guidance_interval: need sigma_lo < sigma_hi, '
                          f'got {list(run.interval)}')
        if variant.get('sigma_max') is not None and not variant['sigma_min'] < variant['sigma_max']:
            errors.append(f'config key gmm.track.variants.{name}: need sigma_min < sigma_max, got '
                          f"{variant['sigma_min']} and {variant['sigma_max']}")
        if variant['estimate'] == 'combined' and run.guided:
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
        if not study['sampler']['sigma_min'] < study['sampler']['sigma_max']:
            errors.append('config key gmm.guidance_study.sampler: need sigma_min < sigma_max, got '
                          f"{study['sampler']['sigma_min']} and {study['sampler']['sigma_max']}")
        if 'statistics' in study:
            errors.append('config key gmm.guidance_study.statistics: the exact metrics of a mixture need no '
                          'reference statistics')
    for name in figures['clone_agreement']:
        spec = experiments.get(name)
        if spec is not None and not (spec['kind'] == 'simplex' and spec['components'] == 2 and spec['variance'] == 1
                                     and spec['signal_per_dim'] == 1 and spec.get('weights') in (None, [0.5, 0.5])):
            errors.append(f"config key gmm.figures.clone_agreement: {name!r} is not Biroli et al.'s mixture (kind simplex, "
                          'components 2, equal weights, signal_per_dim 1, variance 1)')
    flow = gmm.get('flow_shift')
    if flow is not None:
        odd = [r for r in flow['resolutions'] if r % flow['downsampling']]
        if odd:
            errors.append(f"config key gmm.flow_shift.resolutions: {odd} not multiples of gmm.flow_shift.downsampling "
                          f"({flow['downsampling']})")
        # the same steps as the sampler's grid: float32 rounding must leave them distinct (noise.FlowSchedule)
        try:
            from entropic.theory import noise
            noise.FlowSchedule(shift=flow['shift']).flow_times(flow['steps'])
        except ValueError as err:
            errors.append(f'config key gmm.flow_shift.steps: {err}')
    schedules = gmm.get('schedule_study')
    if schedules is not None and not schedules['sigma_min'] < schedules['sigma_max']:
        errors.append(f"config key gmm.schedule_study: need sigma_min < sigma_max, got {schedules['sigma_min']} and "
                      f"{schedules['sigma_max']}")
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

RESERVED_RUNS = ('exact', 'empirical', 'exact-denoiser')    # the names of reference curves

def _model_errors(models, config, root):
    """Semantic checks of a schema-valid, default-filled `models` section, and each backend's own."""
    errors = []
    for name, spec in models.items():
        key = f'models.{name}'
        backend = backends.get(spec['backend'])
        found = len(errors)
        errors += backend.check(spec, key, config, root)
        runs = model_runs(spec)
        if 'unguided' not in runs or runs['unguided'].guided:
            errors.append(f"config key {key}.runs: needs a run named 'unguided' without guidance (the baseline of "
                          f"every curve and figure); runs: {', '.join(runs)}")
        for run_name, run in runs.items():
            if run_name in RESERVED_RUNS:
                errors.append(f'config key {key}.runs.{run_name}: the name is reserved for a reference curve')
            if run.interval and not run.interval[0] < run.interval[1]:
                errors.append(f'config key {key}.runs.{run_name}.guidance_interval: need sigma_lo < sigma_hi, '
                              f'got {list(run.interval)}')
            if run.placement is not None:
                source = runs.get(run.placement['source'])
                if source is None or source.guided or source.placement is not None:
                    errors.append(f"config key {key}.runs.{run_name}.guidance_placement.source: "
                                  f"{run.placement['source']!r} is not an unguided run of the model; runs: "
                                  f"{', '.join(runs)}")
                if run.interval is not None:
                    errors.append(f'config key {key}.runs.{run_name}: give guidance_interval or guidance_placement, not both')
            trajectories = run.trajectories or spec['trajectories']
            if spec['shards'] > trajectories:
                errors.append(f"config key {key}.shards: {spec['shards']} shards for {trajectories} trajectories "
                              f"(run {run_name}); need shards <= trajectories")
        study = spec.get('guidance_study')
        if study is not None and backend.study_metric is None:
            errors.append(f'config key {key}.guidance_study: the {backend.name!r} backend cannot feed the '
                          f'{name}_guidance_study figure: it has no guidance-study metrics (Backend.study_metric, '
                          'study_metrics); remove the key')
        elif study is not None:
            source = runs.get(study['source'])
            if source is None or source.guided:
                errors.append(f"config key {key}.guidance_study.source: {study['source']!r} is not an unguided run "
                              f"of the model; runs: {', '.join(runs)}")
            if 'experiment' in study:
                errors.append(f'config key {key}.guidance_study.experiment: only gmm.guidance_study names an experiment')
            if backend.study_statistics and 'statistics' not in study:
                errors.append(f'config key {key}.guidance_study.statistics: required for the {backend.name!r} '
                              'backend (reference statistics of real images for FID and FD-DINOv2)')
            if not backend.study_statistics and 'statistics' in study:
                errors.append(f'config key {key}.guidance_study.statistics: the {backend.name!r} backend measures '
                              'its samples without reference statistics')
            errors += _study_errors(study, f'{key}.guidance_study')
        schedules = spec.get('schedule_study')
        if schedules is not None:
            source = runs.get(schedules['source'])
            if source is None or source.guided:
                errors.append(f"config key {key}.schedule_study.source: {schedules['source']!r} is not an unguided "
                              f"run of the model; runs: {', '.join(runs)}")
        if not spec['sampler']['sigma_min'] < spec['sampler']['sigma_max']:
            errors.append(f'config key {key}.sampler: need sigma_min < sigma_max, got '
                          f"{spec['sampler']['sigma_min']} and {spec['sampler']['sigma_max']}")
        outside = [s for s in spec.get('cloning', {}).get('levels', []) if not
                   spec['sampler']['sigma_min'] <= s <= spec['sampler']['sigma_max']]
        if outside:
            errors.append(f"config key {key}.cloning.levels: {outside} lie outside the sampler's range "
                          f"[{spec['sampler']['sigma_min']:g}, {spec['sampler']['sigma_max']:g}]")
        if len(errors) == found:    # files already in place (by hand, say): Snakemake runs no download job for them
            errors += download.placed_file_errors(backend.downloads(spec))
    return errors

def validate_config(config, root):
    """Every problem with a config as one line each (empty when valid); reads strings as the schema's types
    (coerce_to_schema) and fills in the schema's defaults, in place. `root` is the project folder that
    relative paths in the config start from (the Snakefile's folder)."""
    schema = config_schema()
    coerce_to_schema(config, schema)
    errors = schema_errors(config, schema, fill_defaults=True)
    if errors:
        return errors
    return _gmm_errors(config['gmm']) + _model_errors(config['models'], config, root)

def derive_seed(base, *keys):
    """A 32-bit seed from the config's seed and names (an experiment, an estimator): stable across runs
    and machines, different for different names."""
    entropy = [int(base)] + [zlib.crc32(str(k).encode()) for k in keys]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])
