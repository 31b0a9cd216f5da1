"""The SLURM profile: a dry run plans every job with the cluster resources the profile promises."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_slurm_profile_dry_run_puts_sampling_on_gpus(tmp_path):
    result = subprocess.run([sys.executable, '-m', 'snakemake', '-n', '-s', str(ROOT / 'Snakefile'),
                             '--profile', str(ROOT / 'profiles' / 'slurm'), '--directory', str(tmp_path),
                             '--configfile', str(ROOT / 'config' / 'test.yaml')],
                            capture_output=True, text=True, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    blocks = output.split('\nrule ')
    sampling = [b for b in blocks if b.startswith('model_trajectories:')]
    assert len(sampling) == 7                              # 3 digits runs x 2 shards, 1 gmm-net shard
    assert all('slurm_partition=gpu' in b and 'gpu=1' in b for b in sampling)
    readouts = [b for b in blocks if b.startswith('speciation:')]
    assert readouts and all('slurm_partition=cpu' in b and 'gpu=' not in b for b in readouts)
    assert not (tmp_path / 'results').exists()


def test_snakemake_lint_passes():
    result = subprocess.run([sys.executable, '-m', 'snakemake', '--lint', '-s', str(ROOT / 'Snakefile')],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and 'good condition' in result.stdout + result.stderr, result.stdout[-3000:]
