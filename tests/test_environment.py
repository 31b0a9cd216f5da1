"""The conda environment lists the same packages and versions as pyproject.toml."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def split(requirement):
    name, spec = re.match(r'^([A-Za-z0-9_.-]+)\s*(.*)$', requirement.strip()).groups()
    return name.lower(), spec.replace(' ', '')


def test_conda_environment_matches_pyproject():
    project = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']
    wanted = dict(split(r) for r in project['dependencies'] + project['optional-dependencies']['test'])
    env = yaml.safe_load((ROOT / 'envs' / 'entropic.yaml').read_text())['dependencies']
    listed = {}
    for entry in env:
        for requirement in (entry['pip'] if isinstance(entry, dict) else [entry]):
            name, spec = split(requirement)
            if name not in ('python', 'pip'):
                listed[name] = spec
    assert listed == wanted
