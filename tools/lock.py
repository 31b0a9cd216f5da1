#!/usr/bin/env python3
"""Refresh the pinned environment: requirements.lock from pyproject.toml (pip-tools' pip-compile, the test
extra included), then envs/entropic.yaml from requirements.lock, so that the two list the same versions.

    python3 tools/lock.py             # add what pyproject.toml asks for, keep every other pin
    python3 tools/lock.py --upgrade   # move every package to its newest release within pyproject.toml's ranges
    python3 tools/lock.py --conda     # only rewrite envs/entropic.yaml from requirements.lock

pip-compile runs in its own virtual environment under build/ (pip-tools pinned below) with this machine's
pip configuration, so torch resolves to the CPU build pyproject.toml pins (2.13.0+cpu). tests/test_environment.py
checks that the lock satisfies pyproject.toml and that the conda environment lists the lock's versions.
"""

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / 'requirements.lock'
CONDA = ROOT / 'envs' / 'entropic.yaml'
PIP_TOOLS = 'pip-tools==7.6.2'
PIN = re.compile(r'^([A-Za-z0-9_.-]+)==(\S+)')

CONDA_HEADER = """\
# Conda environment with the exact versions of requirements.lock (written by tools/lock.py; do not edit by
# hand; tests/test_environment.py checks that the two agree):
#   conda env create -f envs/entropic.yaml && conda activate entropic && pip install --no-deps -e .
# or let Snakemake build it for every rule: snakemake --cores all --sdm conda (the jobs import the library
# through workflow/scripts/entropic, a link to workflow/entropic, so it need not be installed there).
# Conda provides Python; pip installs every package at the lock's version. torch is pinned to the lock's
# release without its local label (+cpu), so that pip takes the build of the platform (CUDA on a GPU node).
name: entropic
channels:
  - conda-forge
  - nodefaults
dependencies:
"""


def pins(text):
    """{name: version} of every `name==version` line of a requirements file."""
    return dict(m.groups() for m in map(PIN.match, text.splitlines()) if m)


def python_version(text):
    """The Python version pip-compile ran under, from the lock's header ('... with Python 3.11')."""
    return re.search(r'with Python (\d+\.\d+)', text).group(1)


def conda_environment(lock_text):
    lines = [CONDA_HEADER, f'  - python={python_version(lock_text)}\n', '  - pip\n', '  - pip:\n']
    for name, version in sorted(pins(lock_text).items(), key=lambda item: item[0].lower()):
        lines.append(f'      - {name}=={version.split("+")[0]}\n')
    return ''.join(lines)


def compile_lock(upgrade):
    tools = ROOT / 'build' / 'pip-tools'
    if not (tools / 'bin' / 'pip-compile').exists():
        subprocess.run([sys.executable, '-m', 'venv', str(tools)], check=True)
        subprocess.run([str(tools / 'bin' / 'pip'), 'install', '--quiet', PIP_TOOLS], check=True)
    subprocess.run([str(tools / 'bin' / 'pip-compile'), '--quiet', '--extra', 'test', '--strip-extras',
                    '--allow-unsafe', '--no-emit-index-url', '--no-emit-find-links', '--output-file',
                    'requirements.lock', *(['--upgrade'] if upgrade else []), 'pyproject.toml'],
                   cwd=ROOT, check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--upgrade', action='store_true', help='move every pin to the newest allowed release')
    parser.add_argument('--conda', action='store_true', help='only rewrite envs/entropic.yaml from the lock')
    args = parser.parse_args()
    if not args.conda:
        compile_lock(args.upgrade)
    text = conda_environment(LOCK.read_text())
    tmp = CONDA.with_suffix('.yaml.tmp')
    tmp.write_text(text)
    tmp.replace(CONDA)


if __name__ == '__main__':
    main()
