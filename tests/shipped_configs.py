"""Running a shipped config the way its user runs it, on stand-in files (test helper for test_shipped_configs.py).

A config in config/ states its user's command in its header (`snakemake --cores all --configfile config/<name>.yaml`,
an overlay with the config it adds to). The test runs that command, the `all` target, with one more `--configfile`:
the *size overlay* (`small_overlay`), which sets only the numbers a user edits to try a config on a small budget,
so that every rule of the config runs in seconds on the CPU:

- per model: `trajectories` (the model's and each run's) one per hypothesis in play and the reference, one
  shard (test.yaml and the contract suite cover sharding), `sampler.steps` 6, `snapshots` 2, `bootstrap` 20, `resolution` 16 (where the model has one:
  the stand-in networks' size), training `steps` 50, the exact reference's `levels` 8 and `samples` 16, `cloning`
  `pairs` 8, the guidance study's `samples` (at least 2 per class in play and fold, and the schema's
  minimum of 20) and `folds` 2, and the schedule study's budgets `nfe` [3] (Heun's N = 2, the fewest), `seeds` 2,
  `samples` 10 and measured mmse `levels` 16 and `samples` 2 (each the schema's minimum);
- nothing else: the backends, checkpoints, partitions, prompts, guidance scales, intervals and placements are
  the shipped ones. The gmm track's sizes are left as they are (test.yaml, the one config with a gmm track, is the
  small config itself).

The weights a pretrained config names stand in as tiny networks of the real architectures with random weights,
written in the real formats at the real paths under resources/ (tests/backends/<backend>.py, `stand_ins`), so that
the download rules have nothing to do.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

from entropic import backends
from entropic.files import download
from entropic.pipeline.configuration import validate_config
from snakemake_cli import snakemake

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / 'config').glob('*.yaml'))
COMMAND = re.compile(r'^#\s+(?:\w+=\S+\s+)*snakemake --cores all --configfile ((?:config/\S+\.yaml ?)+)\s*(?:#.*)?$', re.M)


def user_configfiles(path):
    """The config files of the first `snakemake --cores all --configfile ...` command in a config's header:
    [Path] under the project. AssertionError naming the file where the header has none."""
    found = COMMAND.search(Path(path).read_text())
    assert found, (f'{Path(path).relative_to(ROOT)}: its header must show its user\'s command, '
                   '`#   snakemake --cores all --configfile config/<name>.yaml` (an overlay: with the config it adds to)')
    return [ROOT / name for name in found.group(1).split()]


def merged_config(paths):
    """The configs as Snakemake merges several --configfile (nested mappings updated key by key), validated with the
    schema's defaults filled in. AssertionError with the config's errors."""
    config = {}
    for path in paths:
        _update(config, yaml.safe_load(Path(path).read_text()) or {})
    errors = validate_config(config, root=ROOT)
    assert not errors, errors
    return config


def _update(config, other):
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            _update(config[key], value)
        else:
            config[key] = value


def example_module(name):
    """The module of backend `name`'s tiny examples, tests/backends/<name>.py (tests/backends/README.md), loaded
    from its file (the names hold '-'); AssertionError naming the file where there is none."""
    path = ROOT / 'tests' / 'backends' / f'{name}.py'
    assert path.is_file(), (f'backend {name!r} has no tiny example: write {path.relative_to(ROOT)} with '
                            'example(folder) -> config (tests/backends/README.md)')
    module_spec = importlib.util.spec_from_file_location(f'backend_example_{name}', path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def write_stand_ins(folder, config):
    """Each model's stand-in files under the working directory `folder` (tests/backends/<backend>.py, `stand_ins`;
    a backend that trains its network needs none)."""
    for spec in config['models'].values():
        if backends.get(spec['backend']).trains:
            continue
        module = example_module(spec['backend'])
        assert hasattr(module, 'stand_ins'), \
            f"tests/backends/{spec['backend']}.py has no stand_ins(folder, spec) for a pretrained backend"
        module.stand_ins(Path(folder), spec)


def small_overlay(config):
    """The size overlay of a (merged, default-filled) config: see the module's docstring."""
    models = {}
    for name, spec in config['models'].items():
        backend = backends.get(spec['backend'])
        classes = len(backend.hypotheses(spec, config, ROOT))
        shards = 1
        trajectories = classes + 1
        small = {'trajectories': trajectories, 'shards': shards, 'sampler': {'steps': 6}, 'snapshots': 2,
                 'bootstrap': 20, 'runs': {run: ({'trajectories': trajectories} if 'trajectories' in entry else {})
                                          for run, entry in spec['runs'].items()}}
        if 'resolution' in spec:
            small['resolution'] = 16
        if 'training' in spec:
            small['training'] = {'steps': 50}
        if 'reference' in spec:
            small['reference'] = {key: value for key, value in (('levels', 8), ('samples', 16)) if key in spec['reference']}
        if 'cloning' in spec:
            small['cloning'] = {'pairs': 8}
        if 'guidance_study' in spec:
            per_fold = 2 * classes
            small['guidance_study'] = {'folds': 2, 'samples': 2 * per_fold * -(-20 // (2 * per_fold))}
        if 'schedule_study' in spec:
            small['schedule_study'] = {'nfe': [3], 'seeds': 2, 'samples': 10, 'mmse': {'levels': 16, 'samples': 2}}
        models[name] = small
    return {'models': models} if models else {}


def promised_outputs(config):
    """The figures and tables the README and docs/results.md promise for a config's models (and the effective
    config), written out from what each backend says it can feed."""
    outputs = ['results/config.yaml']
    figure = lambda name: [f'results/figures/{name}.pdf', f'results/figures/{name}.png']   # noqa: E731
    table = lambda name: [f'results/tables/{name}.csv', f'results/tables/{name}.md']       # noqa: E731
    if config['models']:
        outputs += table('models_windows') + table('models_quality')
    for name, spec in config['models'].items():
        backend = backends.get(spec['backend'])
        outputs += figure(f'{name}_entropy')
        if len(spec['runs']) > 1:
            outputs += figure(f'{name}_guidance') + table(f'{name}_guidance')
        for kind in backend.figures:
            outputs += figure(f'{name}_{kind}')
        if 'guidance_study' in spec:
            outputs += figure(f'{name}_guidance_study') + table(f'{name}_guidance_study')
        if 'schedule_study' in spec:
            outputs += figure(f'{name}_schedules') + table(f'{name}_schedules')
        if 'cloning' in spec:
            outputs += figure(f'{name}_clone_agreement') + table(f'{name}_clone_agreement')
    return outputs


def run_configfiles(workdir, path):
    """The --configfile list of a shipped config's run in `workdir`: its user's files, then the size overlay."""
    return [*user_configfiles(path), Path(workdir) / 'small.yaml']


def base_config(path):
    """The shipped config an overlay adds to (sd15-study.yaml: sd15.yaml), where its user's command names one other
    config that is run alone; else None."""
    others = [other for other in user_configfiles(path) if other != Path(path)]
    return others[0] if len(others) == 1 and user_configfiles(others[0]) == [others[0]] else None


def run_shipped_config(workdir, path, base=None):
    """Run config `path` as its user does (`snakemake --cores all --configfile ...`, here on 2 cores) in the empty
    `workdir`, after writing the stand-ins and the size overlay there; hub access off. With `base`, the finished
    run of the config it adds to, it starts from a copy of that (modification times kept), as its user who adds
    the overlay to a finished run does: the stand-ins that run lacks are added, the others left as they are. None
    when it ran, changed no file placed under resources/ and no download rule ran, else what went wrong."""
    config = merged_config(user_configfiles(path))
    if base is not None:
        subprocess.run(['cp', '-a', f'{base}/.', str(workdir)], check=True)
    with tempfile.TemporaryDirectory() as scratch:
        write_stand_ins(scratch, config)
        for source in Path(scratch).rglob('*'):
            target = Path(workdir) / source.relative_to(scratch)
            if source.is_file() and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(source, target)
    (Path(workdir) / 'small.yaml').write_text(yaml.safe_dump(small_overlay(config)))
    before = _resource_times(workdir)
    result = snakemake(workdir, configfiles=run_configfiles(workdir, path), cores=2, env=stand_in_env(workdir))
    if result.returncode != 0:
        return result.stderr[-4000:]
    if 'rule download:' in result.stderr:
        return f'{path.name}: a download rule ran although every file was in place'
    if {p: p.stat().st_mtime_ns for p in before} != before:     # what it built there (statistics) may be new
        return f'{path.name}: the run changed the files placed under resources/'
    return None


def stand_in_env(workdir):
    """The environment of a Snakemake run on the stand-ins in `workdir`: hub access off, and every file under its
    resources/ named in ENTROPIC_SKIP_VERIFY, as a user names a file they built (entropic.files.download.check_file):
    the stand-ins are not the published files, and the config check would refuse them."""
    return {'HF_HUB_OFFLINE': '1', download.SKIP_VARIABLE: os.pathsep.join(str(p) for p in _resource_times(workdir))}


def _resource_times(workdir):
    return {p: p.stat().st_mtime_ns for p in (Path(workdir) / 'resources').rglob('*') if p.is_file()}
