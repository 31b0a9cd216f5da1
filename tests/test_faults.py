"""Fault injection: corrupt inputs, NaNs from a model, interrupted runs and config paths fail clearly,
name what is wrong, and never leave a result that looks finished.

The pipeline cases break the small `gmm-net` chain of config/test.yaml (a mixture, a 300-step training, one
shard of 100 trajectories) in copies of the session's run of that config (tests/conftest.py), or rerun it from
an empty directory and compare with that run.
"""

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from entropic.files import curve_table, store
from entropic.networks import mlp
from tests.support import snakemake_cli

pytestmark = pytest.mark.schedule(4, unit='test')

ROOT = Path(__file__).resolve().parents[1]
TARGET = 'results/models/gmm-net/entropy/unguided.csv'
CHECKPOINT = 'results/models/gmm-net/checkpoint.pt'
SHARD = 'results/models/gmm-net/trajectories/unguided/shard-0.npz'


def command(workdir, *targets):
    return snakemake_cli.snakemake_command(workdir, *targets, configfiles=[snakemake_cli.TEST_CONFIG])


def snakemake(workdir, *targets):
    return snakemake_cli.snakemake(workdir, *targets, configfiles=[snakemake_cli.TEST_CONFIG])


def digest(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope='module')
def chain(test_config_run):
    return test_config_run      # the session's one run of config/test.yaml (tests/conftest.py): read or copy it


@pytest.mark.slow
def test_a_truncated_checkpoint_is_named_and_nothing_is_sampled_from_it(chain, tmp_path):
    workdir = tmp_path / 'work'
    workdir.mkdir()
    (workdir / 'results' / 'models' / 'gmm-net').mkdir(parents=True)
    for name in ('results/gmm', 'results/models/gmm-net/checkpoint.pt', 'results/models/gmm-net/training.csv'):
        subprocess.run(['cp', '-r', str(chain / name), str(workdir / name)], check=True)
    (workdir / CHECKPOINT).write_bytes((chain / CHECKPOINT).read_bytes()[:2000])
    result = snakemake(workdir, SHARD)
    assert result.returncode != 0
    assert f'{CHECKPOINT}: cannot read checkpoint' in result.stdout + result.stderr
    assert not (workdir / SHARD).exists()
    assert [p for p in (workdir / 'results').rglob('.*') if p.is_file()] == []     # no half-written file


@pytest.mark.slow
def test_nan_from_the_network_names_the_shard_and_noise_level(chain, tmp_path):
    net, meta = mlp.load_checkpoint(chain / CHECKPOINT)
    with torch.no_grad():
        net.body.out.bias.fill_(float('nan'))
    workdir = tmp_path / 'work'
    subprocess.run(['cp', '-a', str(chain), str(workdir)], check=True)   # -a: the times Snakemake compares
    mlp.save_checkpoint(workdir / CHECKPOINT, net, meta)
    (workdir / SHARD).unlink()
    result = snakemake(workdir, SHARD)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert 'gmm-net/unguided shard 0' in output and 'NaN or inf at sigma = ' in output
    assert not (workdir / SHARD).exists()


@pytest.mark.slow
def test_nan_in_a_tracked_class_that_the_shard_does_not_sample_names_it_and_writes_nothing(chain, tmp_path):
    # Five shards over gmm-net's conditions [0, 1, 2, 3, -1]: shard 0 samples class 0 only, and tracks all five.
    # Class 2's label embedding is NaN, so only its tracked branch is; the samples and the guided estimate are not.
    net, meta = mlp.load_checkpoint(chain / CHECKPOINT)
    with torch.no_grad():
        net.body.class_emb.weight[2] = float('nan')
    workdir = tmp_path / 'work'
    subprocess.run(['cp', '-a', str(chain), str(workdir)], check=True)   # -a: the times Snakemake compares
    mlp.save_checkpoint(workdir / CHECKPOINT, net, meta)
    (workdir / SHARD).unlink()
    result = snakemake(workdir, SHARD, '--config', 'models={gmm-net: {shards: 5}}')
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert (f'gmm-net/unguided shard 0 ({CHECKPOINT}' in output and
            'the denoiser returned NaN or inf at sigma = 200 (step 0 of 24) for hypothesis 2' in output), output[-3000:]
    assert not (workdir / SHARD).exists()
    assert [p for p in (workdir / 'results').rglob('.*') if p.is_file()] == []     # no half-written file


def test_a_curve_with_nans_is_refused_with_its_file_name(tmp_path):
    curve = pd.DataFrame({c: [0.0, 1.0] for c in curve_table.CURVE_COLUMNS})
    curve.loc[1, 'H'] = np.nan
    path = tmp_path / 'bad.csv'
    curve.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"bad.csv: NaN or inf in columns \['H'\]"):
        curve_table.read_curve(path)


@pytest.mark.slow
def test_an_interrupted_run_completes_identically_on_rerun(chain, tmp_path):
    # Kill Snakemake and its jobs while the network trains; the rerun must give the same bytes as an
    # uninterrupted run, and nothing half-written may be taken for finished.
    workdir = tmp_path / 'work'
    workdir.mkdir()
    process = subprocess.Popen(command(workdir, TARGET), cwd=workdir, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True,
                               env={**os.environ, **snakemake_cli.NO_SLURM})
    log = workdir / 'results' / 'logs' / 'model_train' / 'gmm-net.log'
    deadline = time.time() + 120
    while not (log.exists() and 'parameters' in log.read_text()) and time.time() < deadline:
        time.sleep(0.2)
    assert process.poll() is None, 'the run ended before training started'
    time.sleep(1.0)                                            # inside the training loop
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (workdir / CHECKPOINT).exists()
    # A killed Snakemake leaves its lock (as after a power loss): --unlock, then the same command again.
    assert snakemake(workdir, '--unlock').returncode == 0
    result = snakemake(workdir, TARGET)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in (CHECKPOINT, SHARD, TARGET):
        assert digest(workdir / name) == digest(chain / name), name


def test_config_paths_cannot_leave_the_project_unless_absolute():
    import copy

    import yaml

    from entropic.pipeline.configuration import validate_config
    config = yaml.safe_load((ROOT / 'config.yaml').read_text())
    escaping = copy.deepcopy(config)
    escaping['models']['digits']['partitions'] = '../outside/partitions.yaml'
    assert validate_config(escaping, root=ROOT) == ["config key models.digits.partitions: '../outside/partitions.yaml' lies "
                                         "outside the project; give an absolute path to use a file elsewhere"]


@pytest.fixture(params=[0o002, 0o022])
def umask(request):
    """Run the test under this umask (process-wide; pytest runs tests one at a time) and restore the old one."""
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def plain_mode(folder):
    """The permission bits a plain open() gives a new file in `folder` under the current umask (and its ACL)."""
    with open(folder / 'plain-open', 'w') as file:
        file.write('x')
    return (folder / 'plain-open').stat().st_mode & 0o7777


def test_atomic_writers_give_the_mode_of_a_plain_open_under_the_umask(umask, tmp_path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    expected = plain_mode(tmp_path)
    assert expected == 0o666 & ~umask
    frame = pd.DataFrame({'a': [1.0, 2.0]})
    store.write_csv(frame, tmp_path / 'out' / 'table.csv')
    store.write_markdown(frame, tmp_path / 'out' / 'table.md')
    store.write_json({'a': 1}, tmp_path / 'out' / 'values.json')
    store.save_npy(np.zeros(3), tmp_path / 'out' / 'array.npy')
    store.save_npz(tmp_path / 'out' / 'arrays.npz', a=np.zeros(3))
    fig = plt.figure()
    store.save_figure(fig, [tmp_path / 'out' / 'figure.pdf', tmp_path / 'out' / 'figure.png'])
    plt.close(fig)
    with store.atomic_path(tmp_path / 'out' / 'by-hand.txt') as tmp:      # what scripts writing other formats use
        tmp.write_text('x')
    mlp.save_checkpoint(tmp_path / 'out' / 'net.pt', mlp.EDMPrecond(dim=2, num_classes=2, width=8, blocks=1), {})
    written = sorted((tmp_path / 'out').iterdir())
    assert len(written) == 9
    assert {p.name: oct(p.stat().st_mode & 0o7777) for p in written} == {p.name: oct(expected) for p in written}


def test_a_curve_without_a_posterior_may_leave_phi_nan_but_not_inf(tmp_path):
    # I-MMSE forms no posterior: its phi columns are NaN by design; an inf is still an error.
    curve = pd.DataFrame({c: [0.0, 1.0] for c in curve_table.CURVE_COLUMNS})
    curve['phi'] = curve['phi_se'] = np.nan
    path = tmp_path / 'immse.csv'
    curve.to_csv(path, index=False)
    assert np.isnan(curve_table.read_curve(path)['phi']).all()
    curve.loc[0, 'phi'] = np.inf
    curve.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"immse.csv: inf in columns \['phi', 'phi_se'\]"):
        curve_table.read_curve(path)


def test_a_figure_saved_twice_gives_the_same_bytes(tmp_path, monkeypatch):
    # Matplotlib stamps a PDF with its write time (SOURCE_DATE_EPOCH when set): two saves at different
    # "times" differ byte for byte unless save_figure leaves the stamp out.
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1, 4])
    digests = []
    for epoch, folder in (('1000000000', 'a'), ('2000000000', 'b')):
        monkeypatch.setenv('SOURCE_DATE_EPOCH', epoch)
        paths = [tmp_path / folder / 'figure.pdf', tmp_path / folder / 'figure.png']
        store.save_figure(fig, paths)
        digests.append([p.read_bytes() for p in paths])
    plt.close(fig)
    assert digests[0] == digests[1]


def test_a_partitions_rows_are_copied_as_written_and_a_missing_one_is_named(tmp_path):
    # The placing files keep the text of their rows (their bytes change only with those rows: rule placing_window)
    source = tmp_path / 'windows.csv'
    source.write_text('partition,coordinate,peak,note\nclasses,t,0.1234567891,"a, b"\nhalves,t,1e-05,\n'
                      'classes,log_sigma,-2.5,\n')
    target = tmp_path / 'placing' / 'classes-windows.csv'
    curve_table.write_partition_rows(source, 'classes', target)
    assert target.read_text() == 'partition,coordinate,peak,note\nclasses,t,0.1234567891,"a, b"\nclasses,log_sigma,-2.5,\n'
    with pytest.raises(ValueError, match=r"windows.csv has no row of partition 'thirds'; it has \['classes', 'halves'\]"):
        curve_table.write_partition_rows(source, 'thirds', tmp_path / 'thirds.csv')
    assert not (tmp_path / 'thirds.csv').exists()
