"""Snakemake as the tests start it: `python -m snakemake` on the project's Snakefile in a working directory, its
output captured (test helper)."""

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_CONFIG = ROOT / 'config' / 'test.yaml'
# Added to the environment of every Snakemake that submits nothing to SLURM (a local run, a dry run): no SLURM
# configuration. Snakemake imports every executor plugin when it starts, and the SLURM one then asks the
# controller for its MinJobAge (`scontrol show config`, snakemake-executor-plugin-slurm 2.x, up to 10 s): where a
# slurm.conf names a controller that does not answer (as `tools/slurm-cluster down` leaves the machine), every
# start waited 9 s for nothing. tests/test_slurm.py, which submits, keeps the machine's configuration.
NO_SLURM = {'SLURM_CONF': os.devnull}


@contextlib.contextmanager
def no_slurm():
    """NO_SLURM in this process's environment for the duration (to import the SLURM plugin here: the import asks
    the controller), then the environment as it was."""
    saved = {key: os.environ.get(key) for key in NO_SLURM}
    os.environ.update(NO_SLURM)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# How Snakemake's output begins the block of each job it plans or runs (a checkpoint's says so).
JOB_HEADERS = ('rule ', 'localrule ', 'checkpoint ', 'localcheckpoint ')


def job_rules(output):
    """The rule names of the jobs in Snakemake's output (a dry run's plan, or a run's log): a set."""
    return {line.split()[1].rstrip(':') for line in output.splitlines() if line.startswith(JOB_HEADERS)}


def snakemake_command(workdir, *args, configfiles=(), cores=1):
    """The command line: `args` (targets and options) first, then the Snakefile, --directory `workdir`, --cores
    `cores` (None: the profile's or none) and --configfile with `configfiles` last (the option takes every word
    after it)."""
    command = [sys.executable, '-m', 'snakemake', *map(str, args), '-s', str(ROOT / 'Snakefile'),
               '--directory', str(workdir)]
    if cores is not None:
        command += ['--cores', str(cores)]
    if configfiles:
        command += ['--configfile', *map(str, configfiles)]
    return command


def snakemake(workdir, *args, configfiles=(), cores=1, env=None, timeout=None):
    """subprocess.CompletedProcess of snakemake_command(...) run in `workdir`, stdout and stderr as text; NO_SLURM
    and `env` (a dict) added to this process's environment."""
    return subprocess.run(snakemake_command(workdir, *args, configfiles=configfiles, cores=cores), cwd=workdir,
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, **NO_SLURM, **(env or {})})


# Left out of a copy of the project outside a git checkout (copy_project).
IGNORED = ('.git', '.snakemake', 'results', 'resources', '__pycache__', '.pytest_cache', '.venv', '*.egg-info')


def copy_project(folder):
    """A copy of the project in `folder` as `cp -a` makes it (modification times kept, links as links): the project
    moved or copied elsewhere. The files git tracks or would track (.gitignore), so not its git metadata, anything a
    run left there or a virtual environment in it (gigabytes, and never run from the copy: the tests run this
    interpreter); outside a git checkout, every file but IGNORED."""
    listed = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        return Path(shutil.copytree(ROOT, folder, symlinks=True, ignore=shutil.ignore_patterns(*IGNORED)))
    for name in filter(None, listed.stdout.split('\0')):
        source, target = ROOT / name, Path(folder) / name
        if source.is_symlink() or source.is_file():       # a tracked file deleted in the work tree is not copied
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
    return Path(folder)
