"""Reruns touch only what a change affects: for every backend whose hypotheses and partitions come from a file,
a new partition over hypotheses already in play reruns the readouts and not the sampling (hours of GPU time on
the paper's configs), while a new hypothesis in play reruns the sampling. Each backend's tiny example
(tests/backends/) runs a short chain under Snakemake, then the file is edited and a dry run lists the jobs.

And what does not change a result reruns nothing: the config written differently (the keys of every mapping in
another order, numbers retyped, the file re-saved with sorted keys), or the project and its results moved
elsewhere. Every job of every shipped config records the same params, inputs and logs either way (compared as
Snakemake records them, tests/support/recorded_params.py), and a dry run after the test config's run finds nothing
to do."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from entropic import backends
from tests.support import snakemake_cli
from tests.support.config_variants import retyped_numbers, reversed_keys, rewritten
from tests.support.shared_runs import run_once
from tests.support.shipped_configs import CONFIGS, example_module, merged_config, user_configfiles
from tests.support.snakemake_cli import copy_project

pytestmark = [pytest.mark.slow, pytest.mark.schedule(5, unit='param')]

ROOT = Path(__file__).resolve().parents[1]
WITH_FILE = [name for name, backend in backends.registry().items() if backend.hypothesis_file]
TARGET = 'results/models/m/entropy/unguided.csv'


def snakemake(workdir, *args):
    return snakemake_cli.snakemake(workdir, *args, configfiles=[workdir / 'config.yaml'], cores=2,
                                   env={'HF_HUB_OFFLINE': '1'})


def planned(workdir):
    """The rules a dry run of TARGET would run."""
    result = snakemake(workdir, '-n', TARGET)
    assert result.returncode == 0, result.stderr[-3000:]
    return snakemake_cli.job_rules(result.stdout)


@pytest.fixture(scope='module', params=WITH_FILE)
def chain(request, tmp_path_factory):
    """(backend, workdir, hypothesis file) after a complete run of a tiny chain to the unguided curve."""
    name = request.param
    backend = backends.get(name)
    workdir = tmp_path_factory.mktemp(f'reruns-{name}')
    config = example_module(name).example(workdir)
    model = config['models']['m']
    source = workdir / model[backend.hypothesis_file]     # a file the example wrote, or one of the repository's
    source = source if source.is_file() else ROOT / model[backend.hypothesis_file]
    copy = workdir / source.name                     # the file under test, edited below; an absolute path
    copy.write_text(source.read_text())
    model.update({backend.hypothesis_file: str(copy), 'trajectories': 2 * (len(backend.hypotheses(
        {**model, backend.hypothesis_file: str(copy)}, config, ROOT)) + 1), 'shards': 1, 'snapshots': 0,
        'bootstrap': 20, 'runs': {'unguided': {}}, 'sampler': {**model.get('sampler', {}), 'steps': 4}})
    if backend.trains:       # the example's network stands: no training in this test
        model['training'] = {'steps': 1}
    (workdir / 'config.yaml').write_text(yaml.safe_dump(config))
    result = snakemake(workdir, TARGET)
    assert result.returncode == 0, result.stderr[-3000:]
    assert planned(workdir) == set()
    return backend, workdir, copy


def test_a_new_partition_reruns_the_readouts_but_not_the_sampling(chain):
    backend, workdir, path = chain
    text = path.read_text()
    if backend.hypothesis_file == 'prompts':       # a prompt file: partitions of the listed prompts
        edited = text + '\n  first-two: [[0], [1]]\n'
    else:                                          # a partition file: partitions of class indices
        labels = list(backend.hypotheses(yaml.safe_load((workdir / 'config.yaml').read_text())['models']['m'],
                                         None, ROOT))
        edited = text + f'\nfirst-two: [[{labels[0]}], [{labels[1]}]]\n'
    path.write_text(edited)
    try:
        jobs = planned(workdir)
        assert 'model_partitions' in jobs and 'model_entropy' in jobs
        assert 'model_trajectories' not in jobs, jobs
    finally:
        path.write_text(text)


def test_a_new_hypothesis_in_play_reruns_the_sampling(chain):
    backend, workdir, path = chain
    text = path.read_text()
    config = yaml.safe_load((workdir / 'config.yaml').read_text())
    before = backend.hypotheses(config['models']['m'], config, ROOT)
    if backend.hypothesis_file == 'prompts':
        edited = text.replace('prompts:\n', 'prompts:\n  - "a photo of a horse"\n', 1)
    else:
        unused = next(k for k in range(1000) if k not in before)
        edited = text + f'\nnew-class: [[{unused}], [-1]]\n'
    path.write_text(edited)
    try:
        if backend.hypotheses(config['models']['m'], config, ROOT) == before:
            pytest.skip(f'the {backend.name!r} backend has a fixed set of hypotheses: its file names partitions only')
        assert 'model_trajectories' in planned(workdir)
    finally:
        path.write_text(text)


# The config written differently: every mapping's keys in reverse order (a new order for every mapping of two keys or
# more), every number retyped (80 as 80.0, 2.0 as 2), the file re-saved by a tool that sorts keys.
WRITTEN_DIFFERENTLY = {'reversed': dict(transform=reversed_keys), 'retyped': dict(transform=retyped_numbers),
                       'sorted': dict(sort_keys=True)}


@pytest.fixture(scope='session')
def moved_project(tmp_path_factory):
    """The project copied elsewhere (copy_project), once per session for every test and xdist worker (run_once);
    Snakemake only reads it (its working directories are elsewhere)."""
    def run(workdir):
        copy_project(workdir / 'project')
    return run_once(tmp_path_factory, 'moved-project', run) / 'project'


def place_sources(workdir, config):
    """What a user places in the working directory by hand before a dry run: the folder of real images that a
    guidance study's reference statistics are computed from (rule reference_statistics)."""
    for spec in config['models'].values():
        statistics = spec.get('guidance_study', {}).get('statistics', '')
        if statistics.startswith('resources/reference/'):
            (Path(workdir) / statistics).with_suffix('').mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope='module')
def recorded_plans(tmp_path_factory, moved_project):
    """recorded_plans(config path) -> {"original", "reversed", "retyped", "sorted", "moved": {job: {"params",
    "input", "log"}} or {"error": text}}: what every job of the config would record, as its user gives it, written
    differently (WRITTEN_DIFFERENTLY), and from a copy of the project in another folder with another working
    directory (moved_project; one process, tests/support/recorded_params.py; made once a config)."""
    cache = {}

    def get(path):
        if path not in cache:
            folder = tmp_path_factory.mktemp(f'recorded-{path.stem}')
            paths = user_configfiles(path)
            project = moved_project
            plan = {'original': dict(snakefile=ROOT / 'Snakefile', workdir=folder / 'run', configfiles=paths)}
            plan.update({variant: dict(snakefile=ROOT / 'Snakefile', workdir=folder / 'run',
                                       configfiles=rewritten(paths, folder / variant, **how))
                         for variant, how in WRITTEN_DIFFERENTLY.items()})
            plan['moved'] = dict(snakefile=project / 'Snakefile', workdir=folder / 'elsewhere' / 'run',
                                 configfiles=[project / p.relative_to(ROOT) for p in paths])
            for entry in plan.values():
                entry['workdir'].mkdir(parents=True, exist_ok=True)
                place_sources(entry['workdir'], merged_config(paths))
            (folder / 'plan.json').write_text(json.dumps(plan, default=str))
            result = subprocess.run([sys.executable, ROOT / 'tests' / 'support' / 'recorded_params.py',
                                     folder / 'plan.json', folder / 'recorded.json'], capture_output=True, text=True,
                                    env={**os.environ, **snakemake_cli.NO_SLURM})
            assert result.returncode == 0, result.stderr[-3000:]
            cache[path] = json.loads((folder / 'recorded.json').read_text())
            cache[path]['folders'] = [str(ROOT), str(folder), str(project)]
        return cache[path]
    return get


def differing(before, after, what):
    """{job: (recorded before, after)} for every job whose `what` ("params", "input", "log") differs."""
    assert 'error' not in before and 'error' not in after, (before.get('error') or after['error'])
    assert set(after) == set(before), sorted(set(after) ^ set(before))
    return {job: (before[job][what], after[job][what]) for job in before if before[job][what] != after[job][what]}


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_every_job_records_the_same_params_for_the_config_written_differently(path, recorded_plans):
    plans = recorded_plans(path)
    for variant in WRITTEN_DIFFERENTLY:
        changed = differing(plans['original'], plans[variant], 'params')
        assert not changed, f'{path.name}, {variant}: {len(changed)} jobs would rerun: {json.dumps(changed)[:3000]}'


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_every_job_records_the_same_inputs_params_and_logs_from_a_project_moved_elsewhere(path, recorded_plans):
    plans = recorded_plans(path)
    for what in ('input', 'params', 'log'):
        changed = differing(plans['original'], plans['moved'], what)
        assert not changed, f'{path.name}: {len(changed)} jobs would rerun ({what}): {json.dumps(changed)[:3000]}'
    text = json.dumps(plans['original'])
    assert not [folder for folder in plans['folders'] if folder in text], 'a job records a folder of this machine'


@pytest.mark.parametrize('variant', WRITTEN_DIFFERENTLY)
def test_the_test_config_written_differently_schedules_nothing_after_its_run(variant, test_config_run, tmp_path):
    configfiles = rewritten([snakemake_cli.TEST_CONFIG], tmp_path, **WRITTEN_DIFFERENTLY[variant])
    result = snakemake_cli.snakemake(test_config_run, '-n', configfiles=configfiles, cores=2)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and 'Nothing to be done' in output, output[-3000:]


@pytest.mark.parametrize('moved', ['project', 'project-and-run'])
def test_a_run_and_its_project_moved_elsewhere_schedule_nothing(moved, test_config_run, moved_project, tmp_path):
    project = moved_project
    workdir = test_config_run                 # read only: a dry run
    if moved == 'project-and-run':
        workdir = tmp_path / 'run'
        subprocess.run(['cp', '-a', str(test_config_run), str(workdir)], check=True)
    command = snakemake_cli.snakemake_command(workdir, '-n', configfiles=[project / 'config' / 'test.yaml'], cores=2)
    command[command.index('-s') + 1] = str(project / 'Snakefile')
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True,
                            env={**os.environ, **snakemake_cli.NO_SLURM})
    output = result.stdout + result.stderr
    assert result.returncode == 0 and 'Nothing to be done' in output, output[-3000:]
