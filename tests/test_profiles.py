"""The SLURM profile: a dry run plans every job with the cluster resources the profile promises, and the
executor's own partition choice sends exactly the GPU jobs to the GPU partition. tests/test_slurm.py runs
the profile on a real one-node cluster."""

import logging
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support.snakemake_cli import no_slurm, snakemake

pytestmark = [pytest.mark.slow, pytest.mark.schedule(8)]

with no_slurm():      # importing the plugin asks the SLURM controller (tests/support/snakemake_cli.py, NO_SLURM)
    from snakemake_executor_plugin_slurm.partitions import get_best_partition, read_partition_file

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / 'profiles' / 'slurm'


def planned_jobs(tmp_path, configfile):
    """[(rule, {resource: value})] of every job a dry run with the profile plans."""
    result = snakemake(tmp_path, '-n', '--profile', PROFILE, configfiles=[ROOT / 'config' / configfile], cores=None)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert not (tmp_path / 'results').exists()
    jobs = []
    for block in output.split('\nrule ')[1:]:
        rule = block.split(':', 1)[0]
        line = re.search(r'^\s+resources: (.*)$', block, re.MULTILINE).group(1)
        resources = dict(item.split('=', 1) for item in line.split(', '))
        jobs.append((rule, {k: int(v) if v.isdigit() else v for k, v in resources.items()}))
    return jobs


def partition(rule, resources):
    """The partition the SLURM executor picks for a job from profiles/slurm/partitions.yaml."""
    job = SimpleNamespace(name=rule, threads=1, resources=resources)
    return get_best_partition(read_partition_file(PROFILE / 'partitions.yaml'), job, logging.getLogger(__name__))


def test_test_config_runs_every_job_on_cpus(tmp_path):
    jobs = planned_jobs(tmp_path, 'test.yaml')
    sampling = [resources for rule, resources in jobs if rule == 'model_trajectories']
    assert len(sampling) == 7                              # 3 digits runs x 2 shards, 1 gmm-net shard
    assert all(r['gpu'] == 0 and r['runtime'] == 120 for r in sampling)   # trained models sample on CPUs
    assert all(r['mem_mb_per_cpu'] == 8000 and 'slurm_partition' not in r for _, r in jobs)
    assert {partition(rule, r) for rule, r in jobs} == {'cpu'}


def test_edm2_config_puts_sampling_study_and_images_on_gpus(tmp_path):
    jobs = planned_jobs(tmp_path, 'edm2-xs.yaml')
    on_gpu = {rule for rule, r in jobs if r.get('gpu', 0) > 0}
    assert on_gpu == {'model_trajectories', 'guidance_study_samples', 'guidance_study_metrics', 'model_images',
                      'model_schedule_study'}
    assert sum(rule == 'model_trajectories' for rule, _ in jobs) == 9 * 12       # 9 runs x 12 shards
    for rule, r in jobs:
        assert partition(rule, r) == ('gpu' if r.get('gpu', 0) > 0 else 'cpu'), rule
        assert r['cpus_per_gpu'] == 2 and r['mem_mb_per_cpu'] == 8000   # 2 CPUs and 16 GB per GPU job


def test_snakemake_lint_passes():
    result = snakemake(ROOT, '--lint', cores=None)
    assert result.returncode == 0 and 'good condition' in result.stdout + result.stderr, result.stdout[-3000:]
