"""The pinned environment: requirements.lock satisfies pyproject.toml, and the conda environment lists the
lock's versions (both written by tools/lock.py)."""

import importlib.util
import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def lock_pins():
    text = (ROOT / 'requirements.lock').read_text()
    pins = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith((' ', '#')):
            name, version = re.fullmatch(r'([A-Za-z0-9_.-]+)==(\S+)', line.strip()).groups()
            pins[canonicalize_name(name)] = version
    return pins


def conda_pins():
    env = yaml.safe_load((ROOT / 'envs' / 'entropic.yaml').read_text())['dependencies']
    conda = [e for e in env if isinstance(e, str)]
    pip = [r for e in env if isinstance(e, dict) for r in e['pip']]
    pins = {}
    for requirement in pip:
        name, version = re.fullmatch(r'([A-Za-z0-9_.-]+)==(\S+)', requirement).groups()
        pins[canonicalize_name(name)] = version
    return conda, pins


def test_every_requirement_of_pyproject_is_pinned_in_the_lock_within_its_range():
    project = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']
    pins = lock_pins()
    for text in project['dependencies'] + project['optional-dependencies']['test']:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f'{name} is in pyproject.toml but not in requirements.lock: run tools/lock.py'
        assert requirement.specifier.contains(Version(pins[name]), prereleases=True), (name, pins[name])
    assert pins['torch'] == '2.13.0+cpu'       # the CPU build the machines carry (pyproject pins 2.13.0)


def test_the_conda_environment_lists_the_lock_versions():
    conda, pins = conda_pins()
    lock = lock_pins()
    # the same packages at the same releases; torch without its local label (+cpu), so that pip in a conda
    # environment takes the platform's build of the same release
    assert pins == {name: version.split('+')[0] for name, version in lock.items()}
    made_with = re.search(r'with Python (\d+\.\d+)', (ROOT / 'requirements.lock').read_text()).group(1)
    assert f'python={made_with}' in conda


def test_the_conda_environment_is_what_tools_lock_writes_from_the_lock():
    spec = importlib.util.spec_from_file_location('lock', ROOT / 'tools' / 'lock.py')
    lock = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lock)
    assert (ROOT / 'envs' / 'entropic.yaml').read_text() == \
        lock.conda_environment((ROOT / 'requirements.lock').read_text())
