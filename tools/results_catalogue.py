#!/usr/bin/env python3
"""Write the catalogue of figures and tables in docs/results.md from the rules' registrations.

Each rule file registers, beside a rule that writes a figure or a table, its outputs and what they show
(`register` in workflow/rules/common.smk, entropic.pipeline.targets); this tool parses the workflow as Snakemake does
and writes the table that follows the marker line in docs/results.md, one row per registered text. Run from
the repository root:

    .venv/bin/python tools/results_catalogue.py          # rewrite the table in docs/results.md
    .venv/bin/python tools/results_catalogue.py --check  # exit 1 if the committed table differs
    .venv/bin/python tools/results_catalogue.py --dump   # JSON: every rule's outputs and the registrations

tests/test_docs.py regenerates the page and fails when the committed one differs, and checks the catalogue
against every rule's outputs.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / 'docs' / 'results.md'
MARKER = ('<!-- The table below is written by tools/results_catalogue.py from the registrations of the rules '
          '(`register` in workflow/rules/*.smk): edit those, then run the tool. -->')
HEADER = ['| figure | rule | what it shows |', '|---|---|---|']


def _dump(root):
    """{'rules': {rule: [output patterns, wildcards without their constraints]}, 'catalogue': [[outputs, rule,
    what]], 'all': [what `all` builds]} of the workflow at `root` parsed with its config.yaml, in this process
    (Snakemake works in a scratch folder, which it leaves empty of results)."""
    from snakemake.api import SnakemakeApi
    from snakemake.io import strip_wildcard_constraints
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings, StorageSettings
    with tempfile.TemporaryDirectory() as scratch, SnakemakeApi(OutputSettings(quiet={'all'})) as api:
        workflow = api.workflow(resource_settings=ResourceSettings(cores=1), storage_settings=StorageSettings(),
                                config_settings=ConfigSettings(configfiles=[Path(root) / 'config.yaml']),
                                snakefile=Path(root) / 'Snakefile', workdir=Path(scratch))._workflow
        return {'rules': {rule.name: [strip_wildcard_constraints(str(output)) for output in rule.output]
                          for rule in workflow.rules},
                'catalogue': workflow.globals['TARGETS'].catalogue(), 'all': workflow.globals['TARGETS'].paths()}


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


def table(catalogue):
    """The Markdown lines of the catalogue: a row per [outputs, rule, what] (entropic.pipeline.targets.catalogue_cell)."""
    sys.path.insert(0, str(ROOT / 'workflow'))
    from entropic.pipeline.targets import catalogue_cell
    return HEADER + [f'| {catalogue_cell(outputs)} | `{rule}` | {" ".join(what.split())} |'
                     for outputs, rule, what in catalogue]


def render(page_text, catalogue):
    """`page_text` (docs/results.md) with the table after its MARKER line replaced by table(catalogue).
    ValueError where the page has no marker line, or more than one."""
    lines = page_text.split('\n')
    if lines.count(MARKER) != 1:
        raise ValueError(f'{PAGE.relative_to(ROOT)}: put the marker line once where the catalogue goes:\n{MARKER}')
    start = lines.index(MARKER) + 1
    end = start
    while end < len(lines) and lines[end].startswith('|'):
        end += 1
    return '\n'.join(lines[:start] + table(catalogue) + lines[end:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true', help='exit 1 if docs/results.md\'s catalogue is not up to date')
    parser.add_argument('--dump', action='store_true', help='print every rule\'s outputs and the registrations as JSON')
    parser.add_argument('--root', default=str(ROOT), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump:
        print(json.dumps(_dump(args.root)))
        return
    text = render(PAGE.read_text(), parsed()['catalogue'])
    if args.check:
        if PAGE.read_text() != text:
            sys.exit(f'{PAGE.relative_to(ROOT)} is out of date: run python tools/results_catalogue.py')
        return
    tmp = PAGE.with_suffix('.md.tmp')
    tmp.write_text(text)
    tmp.replace(PAGE)                       # atomic: a reader never sees half a page


if __name__ == '__main__':
    main()
