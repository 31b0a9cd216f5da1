#!/usr/bin/env python3
"""What the rules write, read from the workflow as Snakemake parses it (the rules spell no path themselves:
they ask entropic.paths).

    .venv/bin/python tools/results_catalogue.py --dump   # JSON: every rule's outputs

tests/test_docs.py checks the catalogue of docs/results.md against these outputs.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _dump(root):
    """{'rules': {rule: [output patterns, wildcards without their constraints]}} of the workflow at `root` parsed with its config.yaml, in this process
    (Snakemake works in a scratch folder, which it leaves empty of results)."""
    from snakemake.api import SnakemakeApi
    from snakemake.io import strip_wildcard_constraints
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings, StorageSettings
    with tempfile.TemporaryDirectory() as scratch, SnakemakeApi(OutputSettings(quiet={'all'})) as api:
        workflow = api.workflow(resource_settings=ResourceSettings(cores=1), storage_settings=StorageSettings(),
                                config_settings=ConfigSettings(configfiles=[Path(root) / 'config.yaml']),
                                snakefile=Path(root) / 'Snakefile', workdir=Path(scratch))._workflow
        return {'rules': {rule.name: [strip_wildcard_constraints(str(output)) for output in rule.output]
                          for rule in workflow.rules}}


def parsed(root=ROOT):
    """_dump(root) in a process of its own (Snakemake changes the working directory while it parses), with the
    library of `root` on the path. RuntimeError with Snakemake's message where the workflow does not parse."""
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(Path(root) / 'workflow'), os.environ.get('PYTHONPATH', '')]),
           'SLURM_CONF': os.devnull}
    result = subprocess.run([sys.executable, __file__, '--dump', '--root', str(root)], capture_output=True, text=True,
                            env=env)
    if result.returncode != 0:
        raise RuntimeError(f'the workflow at {root} does not parse:\n{result.stderr[-3000:]}')
    return json.loads(result.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--dump', action='store_true', help='print every rule\'s outputs as JSON')
    parser.add_argument('--root', default=str(ROOT), help='the project (default: this one)')
    args = parser.parse_args()
    if args.dump:
        print(json.dumps(_dump(args.root)))


if __name__ == '__main__':
    main()
