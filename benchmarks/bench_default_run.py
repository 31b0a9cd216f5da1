"""Benchmark: the whole default run, `snakemake --cores all` from an empty results/ (issue 4's target).

Target on the 2-core machine: every figure and table of config.yaml (Gaussian-mixture track and digits
track) in at most 5 minutes, with a peak memory under 4 GB. The run happens in a scratch copy of the
project so that the checkout's results/ is left alone; memory is the peak over time of the summed
resident memory of Snakemake and every job it starts (sampled every 0.2 s). A second call with nothing
changed must schedule no job.

    python benchmarks/bench_default_run.py [--keep DIR]     # DIR: where to copy the run's results/
"""

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
TIME_TARGET_S, MEMORY_TARGET_GB = 300.0, 4.0
COPIED = ['Snakefile', 'config.yaml', 'config', 'workflow', 'envs']


def tree_rss(process):
    """Resident memory of a process and all its descendants, in bytes."""
    total = 0
    for p in [process] + process.children(recursive=True):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run(workdir, *args):
    """Run snakemake in `workdir`; (seconds, peak summed RSS in bytes, output)."""
    command = [sys.executable, '-m', 'snakemake', '--cores', 'all', '--directory', str(workdir), *args]
    log = Path(workdir) / f'snakemake{len(list(Path(workdir).glob("snakemake*.log")))}.log'
    start = time.perf_counter()
    with open(log, 'w') as out:   # a file, not a pipe: a full pipe would stall the run
        process = subprocess.Popen(command, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, text=True)
        watched, peak = psutil.Process(process.pid), 0
        while process.poll() is None:
            peak = max(peak, tree_rss(watched))
            time.sleep(0.2)
    seconds = time.perf_counter() - start
    output = log.read_text()
    if process.returncode != 0:
        sys.exit(f'snakemake failed:\n{output[-3000:]}')
    return seconds, peak, output


if __name__ == '__main__':
    keep = sys.argv[sys.argv.index('--keep') + 1] if '--keep' in sys.argv else None
    with tempfile.TemporaryDirectory() as scratch:
        for name in COPIED:
            source = ROOT / name
            (shutil.copytree if source.is_dir() else shutil.copy)(source, Path(scratch) / name)
        seconds, peak, output = run(scratch)
        jobs = output.count('Finished job')
        again, _, second = run(scratch, '-n')
        if keep:
            shutil.copytree(Path(scratch) / 'results', keep, dirs_exist_ok=True)
    print(f'default run: {jobs} jobs in {seconds:.0f} s, peak memory {peak / 1e9:.2f} GB')
    print(f"second run: {'nothing to do' if 'Nothing to be done' in second else 'jobs scheduled!'}")
    print(f'ratio  wall time / {TIME_TARGET_S:.0f} s target    : {seconds / TIME_TARGET_S:.3f}')
    print(f'ratio  peak memory / {MEMORY_TARGET_GB:.0f} GB target : {peak / 1e9 / MEMORY_TARGET_GB:.3f}')
