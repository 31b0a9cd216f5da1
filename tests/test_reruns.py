"""Reruns touch only what a change affects: for every backend whose hypotheses and partitions come from a file,
a new partition over hypotheses already in play reruns the readouts and not the sampling (hours of GPU time on
the paper's configs), while a new hypothesis in play reruns the sampling. Each backend's tiny example
(tests/backends/) runs a short chain under Snakemake, then the file is edited and a dry run lists the jobs."""

import importlib.util
from pathlib import Path

import pytest
import yaml

from entropic import backends
import snakemake_cli   # pytest puts tests/ on sys.path

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
    return {line.split()[1].rstrip(':') for line in result.stdout.splitlines() if line.startswith('rule ')}


@pytest.fixture(scope='module', params=WITH_FILE)
def chain(request, tmp_path_factory):
    """(backend, workdir, hypothesis file) after a complete run of a tiny chain to the unguided curve."""
    name = request.param
    backend = backends.get(name)
    workdir = tmp_path_factory.mktemp(f'reruns-{name}')
    spec = importlib.util.spec_from_file_location(f'example_{name}', ROOT / 'tests' / 'backends' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.example(workdir)
    model = config['models']['m']
    source = ROOT / model[backend.hypothesis_file]
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
