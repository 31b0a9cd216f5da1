"""The test suite's own layout, as tests/README.md states it: every library module under workflow/entropic/ has
tests, and the map says which; the test modules import or name the module they are listed for; tests/ holds test
modules and nothing loose beside them (what they share is in tests/support/)."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / 'workflow'
MAP = ROOT / 'tests' / 'README.md'
ROW = re.compile(r'^\| `(entropic(?:\.\w+)*)` \| (.+) \|$', re.M)


def library_modules(root):
    """The dotted names of every module under `root`/entropic, a package by the name of its folder."""
    names = set()
    for path in (root / 'entropic').rglob('*.py'):
        parts = path.relative_to(root).with_suffix('').parts
        names.add('.'.join(parts[:-1] if parts[-1] == '__init__' else parts))
    return names


def read_map(text):
    """{library module: [test module file names]} of the map's rows (`| \\`entropic.x\\` | \\`test_x.py\\`, ... |`).
    AssertionError naming a module listed twice."""
    found = {}
    for module, tests in ROW.findall(text):
        assert module not in found, f'tests/README.md lists {module} twice'
        found[module] = re.findall(r'`(test_\w+\.py)`', tests)
    return found


def named(source):
    """The dotted names a test module imports (`from entropic import x`: entropic and entropic.x) or writes out in
    its text (a docstring's `entropic.backends.sd15`), and each one's parents (entropic.backends)."""
    names = set(re.findall(r'\bentropic(?:\.\w+)*', source))     # with what follows: entropic.theory.noise.DDPMSchedule
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module} | {f'{node.module}.{alias.name}' for alias in node.names}
    return {'.'.join(name.split('.')[:i]) for name in names for i in range(1, name.count('.') + 2)}


def unmapped(library, mapping, tests):
    """What keeps the map from being true, as sentences: a library module without a row or a row without a library
    module, a listed test module that does not exist or does not name the module. `tests` is {file name: text}."""
    problems = [f'{m}: no row in tests/README.md; list the test modules that test it'
                for m in sorted(library - set(mapping))]
    problems += [f'{m}: a row in tests/README.md but no such module under workflow/'
                 for m in sorted(set(mapping) - library)]
    for module, files in sorted(mapping.items()):
        if module not in library:
            continue
        if not files:
            problems.append(f'{module}: its row in tests/README.md lists no test module')
        for name in files:
            if name not in tests:
                problems.append(f'{module}: tests/{name} (tests/README.md) does not exist')
            elif module not in named(tests[name]):
                problems.append(f'{module}: tests/{name} (tests/README.md) neither imports nor names it')
    return problems


def test_every_library_module_has_tests_that_name_it():
    tests = {p.name: p.read_text() for p in (ROOT / 'tests').glob('test_*.py')}
    assert unmapped(library_modules(LIBRARY), read_map(MAP.read_text()), tests) == []


def test_the_map_check_finds_a_module_without_tests_and_a_test_that_does_not_name_its_module(tmp_path):
    # The check above can fail: a library of three modules, a map with a row for two, one of them wrong.
    (tmp_path / 'entropic' / 'sub').mkdir(parents=True)
    for name in ('__init__.py', 'a.py', 'sub/__init__.py'):
        (tmp_path / 'entropic' / name).write_text('')
    mapping = read_map('| `entropic` | `test_a.py` |\n| `entropic.a` | `test_a.py`, `test_b.py` |\n'
                       '| `entropic.gone` | `test_a.py` |\n')
    tests = {'test_a.py': 'from entropic import a\n', 'test_b.py': '"""Tests of entropic.sub."""\n'}
    assert library_modules(tmp_path) == {'entropic', 'entropic.a', 'entropic.sub'}
    assert unmapped(library_modules(tmp_path), mapping, tests) == [
        'entropic.sub: no row in tests/README.md; list the test modules that test it',
        'entropic.gone: a row in tests/README.md but no such module under workflow/',
        'entropic.a: tests/test_b.py (tests/README.md) neither imports nor names it']


def test_tests_holds_test_modules_and_what_they_share_is_in_its_packages():
    loose = [p.name for p in (ROOT / 'tests').glob('*.py')
             if not p.name.startswith('test_') and p.name not in ('conftest.py', '__init__.py')]
    assert loose == [], f'move helpers into tests/support/ (imported as tests.support.<name>): {loose}'
    packages = [ROOT / 'tests', ROOT / 'tests' / 'support', ROOT / 'tests' / 'backends']
    assert all((p / '__init__.py').is_file() for p in packages)
