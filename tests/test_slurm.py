"""profiles/slurm on a real SLURM cluster: the one-node cluster of tools/slurm-cluster on this machine.

Every job goes through sbatch and the executor's status checks; the results are byte for byte those of a
local run, and a sampling job cancelled with scancel fails the run cleanly and reruns to the same bytes.
Marked `slurm` (select with `-m slurm`, leave out with `-m "not slurm"`). Where SLURM cannot be started
(not root, packages missing, another cluster's SLURM) the tests skip and say why; with
ENTROPIC_SLURM_REQUIRED=1 (.ci/run) they fail instead.
"""

import hashlib
import os
import re
import shutil
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.support import snakemake_cli

ROOT = Path(__file__).resolve().parents[1]
CLUSTER_SCRIPT = ROOT / 'tools' / 'slurm-cluster'
CLUSTER_NAME = 'entropic'              # the ClusterName tools/slurm-cluster writes
TIMEOUT = 900                          # seconds: a run that hangs fails the test instead of CI
SUBMITTED = re.compile(r'Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.')

pytestmark = [pytest.mark.slurm, pytest.mark.slow, pytest.mark.schedule(2, unit='test')]


def _cluster_name():
    result = subprocess.run(['scontrol', 'show', 'config'], capture_output=True, text=True)
    if result.returncode != 0:
        return None
    match = re.search(r'^ClusterName\s*=\s*(\S+)', result.stdout, re.MULTILINE)
    return match and match.group(1)


def _unavailable(reason):
    if os.environ.get('ENTROPIC_SLURM_REQUIRED') == '1':
        pytest.fail(f'SLURM is required here (ENTROPIC_SLURM_REQUIRED=1) but {reason}')
    pytest.skip(reason)


@pytest.fixture(scope='session')
def cluster():
    """A running one-node cluster of tools/slurm-cluster: the one already up, or one started (as root) and
    taken down again after the session."""
    started = False
    if shutil.which('scontrol') is None or _cluster_name() is None:
        if os.geteuid() != 0:
            _unavailable('SLURM is not running here and starting it needs root (sudo tools/slurm-cluster up)')
        result = subprocess.run([str(CLUSTER_SCRIPT), 'up'], capture_output=True, text=True, timeout=300)
        if result.returncode != 0 and 'missing:' in result.stderr:
            _unavailable(result.stderr.strip())
        assert result.returncode == 0, result.stdout + result.stderr
        started = True
    name = _cluster_name()
    if name != CLUSTER_NAME:
        _unavailable(f"this machine's SLURM is cluster {name!r}, not the one-node cluster of tools/slurm-cluster "
                     f"({CLUSTER_NAME!r}); the tests submit jobs only there")
    yield
    if started:
        subprocess.run([str(CLUSTER_SCRIPT), 'down'], capture_output=True, timeout=120)


def snakemake_command(workdir, configfile, *args, profile=True):
    """With `profile`: the profile as it is, but with status checks from 2 s on instead of the executor's 40 s (the
    test jobs take seconds, and the wait between checks grows by 10 s per check while no job finishes); else a
    local run on 2 cores."""
    if profile:
        args += ('--profile', ROOT / 'profiles' / 'slurm', '--slurm-init-seconds-before-status-checks', '2')
    return snakemake_cli.snakemake_command(workdir, *args, configfiles=[configfile], cores=None if profile else 2)


def snakemake(workdir, configfile, *args, profile=True):
    result = subprocess.run(snakemake_command(workdir, configfile, *args, profile=profile), cwd=workdir,
                            capture_output=True, text=True, timeout=TIMEOUT)
    return result.returncode, result.stdout + result.stderr


def accounting(run_id):
    """{SLURM job id: (state, partition, comment)} of every job sacct holds under the run's job name."""
    start = f'{datetime.now() - timedelta(days=1):%Y-%m-%dT%H:%M}'
    result = subprocess.run(['sacct', '-X', '--parsable2', '--noheader', '--name', run_id, '--starttime', start,
                             '--format', 'JobIDRaw,State,Partition,Comment%200'],
                            capture_output=True, text=True, check=True)
    rows = [line.split('|') for line in result.stdout.splitlines() if line]
    return {job: (state, partition, comment) for job, state, partition, comment in rows}


def digests(folder):
    """{relative path: md5} of every file under results/ but the logs."""
    results = Path(folder) / 'results'
    return {str(p.relative_to(results)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(results.rglob('*')) if p.is_file() and p.relative_to(results).parts[0] != 'logs'}


def test_test_config_through_slurm_matches_the_local_run_byte_for_byte(cluster, request, tmp_path):
    # The digits chain of config/test.yaml: partitions, training, the unguided run's 2 sampling shards
    # and their merge into the entropy curve; 5 jobs. The local run is the session's run of the whole
    # config (tests/conftest.py), which holds these files among its others.
    config = ROOT / 'config' / 'test.yaml'
    target = 'results/models/digits/entropy/unguided.csv'
    cluster_dir = tmp_path / 'slurm'
    cluster_dir.mkdir()

    started = time.perf_counter()
    code, output = snakemake(cluster_dir, config, target)
    assert code == 0, output[-3000:]
    print(f'SLURM run: {time.perf_counter() - started:.0f} s')

    # Every job of the DAG went through sbatch, once, and SLURM's accounting holds each as completed,
    # named by its rule and wildcards; the two shards are two jobs.
    planned = int(re.search(r'^total\s+(\d+)$', output, re.MULTILINE).group(1))
    submitted = dict(SUBMITTED.findall(output))
    assert planned == len(submitted) == 5, output[-3000:]
    run_id = re.search(r'SLURM run ID: (\S+)', output).group(1)
    assert run_id.startswith('entropic_')                       # the profile's job name prefix
    jobs = accounting(run_id)
    assert set(jobs) == set(submitted)
    assert {state for state, _, _ in jobs.values()} == {'COMPLETED'}
    assert {partition for _, partition, _ in jobs.values()} == {'cpu'}   # no job of this chain asks for a GPU
    assert sorted(comment for _, _, comment in jobs.values()) == [
        'rule_model_entropy_wildcards_digits_unguided', 'rule_model_partitions_wildcards_digits',
        'rule_model_train_wildcards_digits', 'rule_model_trajectories_wildcards_digits_unguided_0',
        'rule_model_trajectories_wildcards_digits_unguided_1']

    # Each rule's own log lands where docs/cluster.md says; SLURM's output of a successful job is not kept.
    logs = cluster_dir / 'results' / 'logs'
    for shard in (0, 1):
        assert f'shard {shard}:' in (logs / 'model_trajectories' / f'digits-unguided-{shard}.log').read_text()
    for name in ('model_partitions/digits.log', 'model_train/digits.log', 'model_entropy/digits-unguided.log'):
        assert (logs / name).stat().st_size > 0, name
    assert not any((logs / 'slurm').rglob('*.log'))

    slurm_files = digests(cluster_dir)
    assert len(slurm_files) == 8
    local = request.getfixturevalue('test_config_run')   # after the SLURM run: another worker may be making it meanwhile
    assert slurm_files == {name: digest for name, digest in digests(local).items() if name in slurm_files}


def test_a_sampling_job_cancelled_with_scancel_fails_cleanly_and_reruns_to_the_same_bytes(cluster, test_config_run,
                                                                                           tmp_path):
    # The digits model of config/test.yaml with 8,000 trajectories (4,000 per shard: about 10 s of sampling
    # here, against 0.2 s for the test config's 110), so that the cancel lands inside the sampling loop.
    config = yaml.safe_load((ROOT / 'config' / 'test.yaml').read_text())
    config['models'] = {'digits': {**config['models']['digits'], 'trajectories': 8000}}
    configfile = tmp_path / 'config.yaml'
    configfile.write_text(yaml.safe_dump(config))
    # A copy of the session's run of config/test.yaml (tests/conftest.py), with its times and Snakemake's
    # records: the model's partitions and training do not depend on the number of trajectories, so only the
    # shard is sampled here.
    workdir = tmp_path / 'work'
    subprocess.run(['cp', '-a', str(test_config_run), str(workdir)], check=True)
    shard = workdir / 'results' / 'models' / 'digits' / 'trajectories' / 'unguided' / 'shard-0.npz'
    log = workdir / 'results' / 'logs' / 'model_trajectories' / 'digits-unguided-0.log'
    target = str(shard.relative_to(workdir))

    # The uninterrupted run, local; then only the shard is missing, and the SLURM runs sample it alone.
    code, output = snakemake(workdir, configfile, target, profile=False)
    assert code == 0, output[-3000:]
    expected = hashlib.md5(shard.read_bytes()).hexdigest()
    shard.unlink(), log.unlink()

    # No retry for this run: the profile's one retry would resubmit the cancelled job at once.
    output_file = tmp_path / 'cancelled.log'
    with open(output_file, 'w') as out:
        process = subprocess.Popen(snakemake_command(workdir, configfile, target, '--retries', '0'), cwd=workdir,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 300
        while not (log.exists() and 'trajectories of' in log.read_text()):   # the line before sampling
            assert process.poll() is None and time.time() < deadline, output_file.read_text()[-3000:]
            time.sleep(0.1)
        (job, slurm_log), = SUBMITTED.findall(output_file.read_text())
        subprocess.run(['scancel', job], check=True)
        try:
            code = process.wait(timeout=300)  # the executor reports it at its next status check
        except subprocess.TimeoutExpired:
            pytest.fail(f'Snakemake still waits for job {job} 300 s after scancel: '
                        f'{output_file.read_text()[-1500:]}')
    finally:
        if process.poll() is None:
            process.kill()
    output = output_file.read_text()
    assert code != 0
    assert f"SLURM-job '{job}' failed, SLURM status is: 'CANCELLED'" in output, output[-3000:]
    run_id = re.search(r'SLURM run ID: (\S+)', output).group(1)
    assert accounting(run_id)[job][0].startswith('CANCELLED')     # sacct says "CANCELLED by <uid>"
    assert 'denoiser evaluations' not in log.read_text()          # it died inside the sampling loop
    assert Path(slurm_log).exists()                               # SLURM's output of a failed job is kept
    leftovers = list(shard.parent.glob('*shard-0*')) if shard.parent.exists() else []
    assert leftovers == [], 'a cancelled job left a file that may pass for its output'

    code, output = snakemake(workdir, configfile, target)      # the same command with the profile as it is
    assert code == 0, output[-3000:]
    assert hashlib.md5(shard.read_bytes()).hexdigest() == expected
