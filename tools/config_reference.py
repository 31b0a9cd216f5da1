#!/usr/bin/env python3
"""Write docs/configuration.md, the configuration reference, from the config schema.

The schema is the package's config.schema.yaml plus each registered backend's own model and run keys
(the parts entropic.pipeline.configuration.config_schema assembles). Every key becomes one row (dotted path, type, default, description);
the model keys are listed once for every backend and then per backend. Run from the repository root:

    .venv/bin/python tools/config_reference.py          # rewrite docs/configuration.md
    .venv/bin/python tools/config_reference.py --check  # exit 1 if the committed page differs

tests/test_docs.py regenerates the page and fails when the committed one differs.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / 'docs' / 'configuration.md'

HEADER = """# Configuration reference

Generated from the config schema (`workflow/entropic/config.schema.yaml` and each backend's own keys in
`workflow/entropic/backends/`) by `python tools/config_reference.py`; do not edit by hand. Every key has a
default unless it is marked required; unknown keys are errors. `<model>`, `<run>`, `<experiment>`,
`<variant>` and `<partition>` stand for names you choose (a path component: letters, digits, `-`, `_`).
`config.yaml` is the embedded default run and `config/*.yaml` the models' runs; `snakemake --configfile
config/NAME.yaml` selects one.
"""


def _resolve(node, schema):
    while '$ref' in node:
        ref = node['$ref'].removeprefix('#/$defs/')
        node = {**schema['$defs'][ref], **{k: v for k, v in node.items() if k != '$ref'}}
    return node


def _type(node, schema):
    """The type column: JSON type or allowed values, with bounds."""
    if 'const' in node:
        return f'`{json.dumps(node["const"])}`'
    if 'enum' in node:
        return 'one of ' + ', '.join(f'`{json.dumps(v)}`' for v in node['enum'])
    kind = node.get('type', 'object' if 'properties' in node or 'additionalProperties' in node else 'any')
    if isinstance(kind, list):                      # a nullable key: ['integer', 'null']
        kind = ' or '.join(kind)
    if kind == 'array' and isinstance(node.get('items'), dict) and 'type' in node['items']:
        kind = f'array of {node["items"]["type"]}'
    if kind == 'array' and 'prefixItems' in node.get('items', {}):
        kind = 'array of [' + ', '.join(p.get('type', 'any') for p in node['items']['prefixItems']) + ']'
    if kind == 'object' and 'properties' not in node and isinstance(node.get('additionalProperties'), dict):
        kind = 'map of name to ' + _type(_resolve(node['additionalProperties'], schema), schema).split(',')[0]
    bounds = []
    for key, sign in (('minimum', '≥'), ('exclusiveMinimum', '>'), ('maximum', '≤'), ('exclusiveMaximum', '<')):
        if key in node:
            bounds.append(f'{sign} {node[key]}')
    if 'minItems' in node:
        bounds.append(f'≥ {node["minItems"]} items')
    return ', '.join([kind] + bounds)


def _cell(text):
    return ' '.join(str(text).split()).replace('|', '\\|')


PLACEHOLDER = {'experiments': '<experiment>', 'variants': '<variant>', 'runs': '<run>', 'models': '<model>',
               'partitions': '<partition>'}       # what the name of a map entry stands for


def rows(node, path, schema, required=False, emit=True):
    """(path, type, default, description) of `node` (unless not `emit`) and of every key below it, depth first."""
    node = _resolve(node, schema)
    if 'default' in node:
        default = f'`{json.dumps(node["default"], ensure_ascii=False)}`'
    else:
        default = '(required)' if required else '(absent)'
    out = [(path, _type(node, schema), default, node.get('description', ''))] if emit else []
    needed = set(node.get('required', []))
    for key, child in node.get('properties', {}).items():
        out += rows(child, f'{path}.{key}', schema, key in needed)
    extra = node.get('additionalProperties')
    if isinstance(extra, dict) and 'properties' in _resolve(extra, schema):   # a map of named entries
        out += rows(extra, f'{path}.{PLACEHOLDER.get(path.rsplit(".", 1)[-1], "<name>")}', schema, emit=False)
    return out


def _table(entries):
    lines = ['| key | type | default | description |', '|---|---|---|---|']
    lines += [f'| `{p}` | {_cell(t)} | {_cell(d)} | {_cell(s)} |' for p, t, d, s in entries]
    return '\n'.join(lines)


def render():
    """The Markdown text of docs/configuration.md."""
    sys.path.insert(0, str(ROOT / 'workflow'))
    from entropic import backends
    from entropic.pipeline.configuration import base_schema

    schema = base_schema()
    model, run = schema['$defs']['model'], schema['$defs']['model_run']
    parts = [HEADER, f'{_cell(schema["description"])}\n']
    for key, node in schema['properties'].items():
        if key == 'models':
            continue
        parts += [f'## `{key}`\n', _table(rows(node, key, schema)) + '\n']

    models = schema['properties']['models']
    parts += ['## `models`\n', _cell(models['description']) + '\n',
              'Keys of every model, whatever its backend (`models.<model>.runs.<run>` holds the run keys):\n']
    common = {**model, 'properties': {**model['properties'],
                                      'runs': {**model['properties']['runs'], 'additionalProperties': run}}}
    parts.append(_table(rows(common, 'models.<model>', schema, emit=False)) + '\n')
    for name, backend in backends.registry().items():
        own = {'type': 'object', 'required': list(backend.required), 'properties': {
            **backend.schema,
            **({'runs': {'type': 'object', 'description': 'Run keys only this backend reads, beside the common run keys above.', 'additionalProperties': {
                'type': 'object', 'properties': backend.run_schema}}} if backend.run_schema else {})}}
        parts += [f'### backend `{name}`\n', f'`backend: {name}`: {_cell(backend.description)}.\n']
        entries = rows(own, 'models.<model>', schema, emit=False)
        parts.append((_table(entries) if entries else 'No keys of its own.') + '\n')
    return '\n'.join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true', help='exit 1 if docs/configuration.md is not up to date')
    args = parser.parse_args()
    text = render()
    if args.check:
        if PAGE.read_text() != text:
            sys.exit(f'{PAGE.relative_to(ROOT)} is out of date: run python tools/config_reference.py')
        return
    tmp = PAGE.with_suffix('.md.tmp')
    tmp.write_text(text)
    tmp.replace(PAGE)                       # atomic: a reader never sees half a page


if __name__ == '__main__':
    main()
