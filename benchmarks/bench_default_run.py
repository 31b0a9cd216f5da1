"""Benchmark: the whole default run, `snakemake --cores all` from an empty results/ (issues 4 and 18).

Targets on the 2-core machine: every figure and table of config.yaml (Gaussian-mixture track and digits
track) in at most 150 s (half the 300 s budget), with a peak memory under 3 GB, and less than 10% of the
job time spent before a job's first line of science. The run happens in a scratch copy of the project so
that the checkout's results/ is left alone. What it prints, from one run:

- the wall time and its ratios to the 150 s target and the 300 s budget; peak memory (the peak over time of
  the summed resident memory of Snakemake and every job it starts, sampled every 0.2 s);
- the time per rule: jobs and summed job time, from the start and finish stamps of Snakemake's log (1 s
  resolution each, so a job's time is good to about +-1 s); the window-fit rules, one per experiment or model,
  are summed as `speciation`;
- the start-up share: the summed time from each job's interpreter start to its first log line (Snakemake's
  script preamble and the imports; entropic.files.job_log.start writes it), over the summed job time;
- that a second call with nothing changed schedules no job;
- the core use (summed job time over wall time times cores) and the floor of the run's work: its summed job time
  less start-up spread over every core, the wall time it could reach with no start-up and no idle core;
- with `--baseline REV`: the same run for commit REV (a detached git worktree in a temporary folder), run
  first, back to back, with the ratio of the two wall times and of the per-rule times, and a comparison of
  the two results/ trees: CSV, JSON, Markdown, PDF and PNG files by checksum, NPZ archives by their arrays
  (an npz is a zip whose members carry their write time).

Absolute times depend on the machine's load: the load average is printed beside them; compare ratios from
one call.

    python benchmarks/bench_default_run.py [--baseline REV] [--keep DIR]   # DIR: where to copy results/
"""

import argparse
import collections
import datetime
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
TIME_TARGET_S, TIME_BUDGET_S, MEMORY_TARGET_GB, STARTUP_TARGET = 150.0, 300.0, 3.0, 0.10
COPIED = ['Snakefile', 'config.yaml', 'config', 'workflow', 'envs']
STARTUP = re.compile(r'start-up ([0-9.]+) s')


def tree_rss(process):
    """Resident memory of a process and all its descendants, in bytes."""
    total = 0
    for p in [process] + process.children(recursive=True):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def snakemake(workdir, *args):
    """Run snakemake in `workdir`; (seconds, peak summed RSS in bytes, output)."""
    command = [sys.executable, '-m', 'snakemake', '--cores', 'all', '--directory', str(workdir), *args]
    log = Path(workdir) / f'snakemake{len(list(Path(workdir).glob("snakemake*.log")))}.log'
    start = time.perf_counter()
    with open(log, 'w') as out:   # a file, not a pipe: a full pipe would stall the run
        env = {**os.environ, 'PYTHONPATH': str(Path(workdir) / 'workflow')}   # the copy's library, not the installed one
        process = subprocess.Popen(command, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
        watched, peak = psutil.Process(process.pid), 0
        while process.poll() is None:
            peak = max(peak, tree_rss(watched))
            time.sleep(0.2)
    seconds = time.perf_counter() - start
    output = log.read_text()
    if process.returncode != 0:
        sys.exit(f'snakemake failed in {workdir}:\n{output[-3000:]}')
    return seconds, peak, output


def rule_group(rule):
    """The rule a job is reported under: the generated window-fit rules speciation_<track>_<name>[...] (one per
    experiment or model, workflow/rules/speciation.smk) as 'speciation', where their logs are."""
    return 'speciation' if rule.startswith('speciation_') else rule


def job_times(output):
    """{rule: [seconds of each job]} from Snakemake's log: the stamp before a job's block to the stamp before
    its 'Finished jobid' line."""
    stamp, started, rule_of, times = None, {}, {}, collections.defaultdict(list)
    pending = None
    for line in output.splitlines():
        m = re.fullmatch(r'\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]', line.strip())
        if m:
            stamp = datetime.datetime.strptime(m.group(1), '%a %b %d %H:%M:%S %Y').timestamp()
            continue
        m = re.fullmatch(r'(?:local)?(?:rule|checkpoint) (\w+):', line.strip())
        if m:
            pending = (rule_group(m.group(1)), stamp)
            continue
        m = re.fullmatch(r'jobid: (\d+)', line.strip())
        if m and pending:
            rule_of[m.group(1)], started[m.group(1)] = pending
            pending = None
            continue
        m = re.match(r'Finished jobid: (\d+)', line.strip())
        if m and m.group(1) in started:
            times[rule_of[m.group(1)]].append(stamp - started[m.group(1)])
    return times


def startup_seconds(workdir):
    """{rule: [start-up seconds of each job]} from the jobs' logs (results/logs/<rule>/...)."""
    found = collections.defaultdict(list)
    for log in sorted((Path(workdir) / 'results' / 'logs').rglob('*.log')):
        m = STARTUP.search(log.read_text(errors='replace')[:2000])
        if m:
            found[log.relative_to(Path(workdir) / 'results' / 'logs').parts[0].removesuffix('.log')].append(float(m.group(1)))
    return found


def checksums(results):
    """{relative path: digest} of a results/ tree; an npz's digest is that of its arrays (names, dtypes,
    shapes, bytes), the rest of their bytes. Logs and Snakemake's own files are left out."""
    sums = {}
    for path in sorted(Path(results).rglob('*')):
        rel = path.relative_to(results).as_posix()
        if not path.is_file() or rel.startswith('logs/') or path.name.startswith('.'):
            continue
        digest = hashlib.sha256()
        if path.suffix == '.npz':
            with np.load(path) as data:
                for key in sorted(data.files):
                    array = np.ascontiguousarray(data[key])
                    digest.update(f'{key}{array.dtype}{array.shape}'.encode())
                    digest.update(array.tobytes())
        else:
            digest.update(path.read_bytes())
        sums[rel] = digest.hexdigest()
    return sums


def measure(source, label):
    """The default run of the project at `source` in a scratch copy: a dict of what it measured."""
    scratch = Path(tempfile.mkdtemp(prefix=f'bench-{label}-'))
    for name in COPIED:
        path = Path(source) / name
        (shutil.copytree if path.is_dir() else shutil.copy)(path, scratch / name)
    load = os.getloadavg()[0]
    seconds, peak, output = snakemake(scratch)
    again = snakemake(scratch, '-n')[2]
    return dict(label=label, scratch=scratch, seconds=seconds, peak=peak, load=(load, os.getloadavg()[0]),
                times=job_times(output), startup=startup_seconds(scratch), jobs=output.count('Finished jobid'),
                idle='Nothing to be done' in again)


def report(run):
    times, startup = run['times'], run['startup']
    total = sum(sum(v) for v in times.values())
    started = sum(sum(v) for v in startup.values())
    print(f"== {run['label']}: {run['jobs']} jobs in {run['seconds']:.1f} s, peak memory {run['peak'] / 1e9:.2f} GB "
          f"(load average {run['load'][0]:.2f} before, {run['load'][1]:.2f} after)")
    print(f"second run: {'nothing to do' if run['idle'] else 'jobs scheduled!'}")
    print(f"ratio  wall time / {TIME_TARGET_S:.0f} s target     : {run['seconds'] / TIME_TARGET_S:.3f}")
    print(f"ratio  wall time / {TIME_BUDGET_S:.0f} s budget     : {run['seconds'] / TIME_BUDGET_S:.3f}")
    print(f"ratio  peak memory / {MEMORY_TARGET_GB:.0f} GB target  : {run['peak'] / 1e9 / MEMORY_TARGET_GB:.3f}")
    print(f"start-up share of job time     : {started / max(total, 1e-9):.3f} (target < {STARTUP_TARGET}; "
          f"{started:.1f} s of {total:.0f} s summed over jobs)")
    cores = os.cpu_count()
    print(f"core use                       : {total / (run['seconds'] * cores):.3f} (summed job time over wall time x "
          f"{cores} cores)")
    print(f"floor of this work             : {(total - started) / cores:.0f} s (summed job time less start-up over "
          f"{cores} cores: the wall time with no start-up and every core busy; ratio to the target "
          f"{(total - started) / cores / TIME_TARGET_S:.3f})")
    print(f"{'rule':32s} {'jobs':>5s} {'sum s':>7s} {'mean s':>7s} {'start-up s':>11s}")
    for rule, values in sorted(times.items(), key=lambda kv: -sum(kv[1])):
        print(f'{rule:32s} {len(values):5d} {sum(values):7.0f} {np.mean(values):7.1f} {sum(startup.get(rule, [])):11.1f}')
    return total


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--baseline', metavar='REV', help='also run commit REV first, back to back, and compare')
    parser.add_argument('--keep', metavar='DIR', help="copy the run's results/ here (with --baseline: DIR/baseline too)")
    args = parser.parse_args()
    runs, worktree = [], None
    try:
        if args.baseline:
            worktree = Path(tempfile.mkdtemp(prefix='bench-baseline-src-')) / 'src'
            subprocess.run(['git', '-C', str(ROOT), 'worktree', 'add', '--detach', str(worktree), args.baseline],
                           check=True, capture_output=True)
            runs.append(measure(worktree, f'baseline {args.baseline}'))
        runs.append(measure(ROOT, 'this checkout'))
        totals = [report(run) for run in runs]
        if args.baseline:
            base, this = runs
            print(f"== ratio this / baseline: wall time {this['seconds'] / base['seconds']:.3f}, "
                  f"summed job time {totals[1] / max(totals[0], 1e-9):.3f}, jobs {this['jobs']} / {base['jobs']}")
            old, new = checksums(base['scratch'] / 'results'), checksums(this['scratch'] / 'results')
            same = [p for p in old if new.get(p) == old[p]]
            differ = [p for p in old if p in new and new[p] != old[p]]
            print(f'results/ compared: {len(same)} identical, {len(differ)} differ, '
                  f'{len(set(old) - set(new))} only in baseline, {len(set(new) - set(old))} only in this checkout')
            for kind in sorted({Path(p).suffix for p in differ}):
                listed = [p for p in differ if Path(p).suffix == kind]
                print(f"  differ {kind}: {len(listed)}: {', '.join(listed[:6])}{' ...' if len(listed) > 6 else ''}")
            for p in sorted(set(old) ^ set(new)):
                print(f"  only in {'baseline' if p in old else 'this checkout'}: {p}")
        if args.keep:
            for run in runs:
                target = Path(args.keep) / ('baseline' if run is not runs[-1] else '')
                shutil.copytree(run['scratch'] / 'results', target, dirs_exist_ok=True)
    finally:
        for run in runs:
            shutil.rmtree(run['scratch'], ignore_errors=True)
        if worktree:
            subprocess.run(['git', '-C', str(ROOT), 'worktree', 'remove', '--force', str(worktree)], capture_output=True)
            shutil.rmtree(worktree.parent, ignore_errors=True)
