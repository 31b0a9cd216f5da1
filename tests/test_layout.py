"""What the code's layout promises: the library's import graph has no cycle, and outside the backend package
no code names a model backend (what differs between model families is asked of entropic.backends)."""

import ast
import re
from pathlib import Path

from entropic import backends

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / 'workflow' / 'entropic'


def imports(path, package):
    """The entropic modules a file imports (at any depth of the file, lazy imports included): for `from X import
    y`, the module X.y where y is one, else X."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or '').startswith('entropic')):
            if node.level:
                base = package.split('.')[:len(package.split('.')) - node.level + 1]
                target = '.'.join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for alias in node.names:       # `from . import x` imports the module x when there is one
                module = f'{target}.{alias.name}'
                is_module = (ROOT / 'workflow' / module.replace('.', '/')).with_suffix('.py').is_file() or \
                    (ROOT / 'workflow' / module.replace('.', '/')).is_dir()
                found.add(module if is_module else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith('entropic'))
    return found


def test_the_library_import_graph_has_no_cycle():
    graph = {}
    for path in LIBRARY.rglob('*.py'):
        parts = path.relative_to(ROOT / 'workflow').with_suffix('').parts
        module = '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)
        package = module if parts[-1] == '__init__' else module.rsplit('.', 1)[0]
        graph[module] = {m for m in imports(path, package) if m != module}
    state, cycles = {}, []

    def visit(module, stack):
        state[module] = 'open'
        for other in sorted(graph.get(module, ())):
            if state.get(other) == 'open':
                cycles.append(stack[stack.index(other):] + [other])
            elif other in graph and other not in state:
                visit(other, stack + [other])
        state[module] = 'done'
    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert len(graph) > 30 and cycles == []


def test_no_code_outside_the_backend_package_names_a_backend():
    """The backends' names as string literals in the library, the rules, the scripts and the Snakefile. `gmm`
    is left out: it is also the name of the theory track (results/gmm/, the config's `gmm` section); `diffusers`
    too: it is also the library that model_index.json names and the networks are loaded from."""
    names = sorted(set(backends.registry()) - {'gmm', 'diffusers'})
    pattern = re.compile(r'''(['"])(%s)\1''' % '|'.join(map(re.escape, names)))
    files = [p for p in LIBRARY.rglob('*.py') if 'backends' not in p.relative_to(LIBRARY).parts]
    files += list((ROOT / 'workflow' / 'rules').glob('*.smk')) + list((ROOT / 'workflow' / 'scripts').glob('*.py'))
    files.append(ROOT / 'Snakefile')
    hits = [f'{p.relative_to(ROOT)}:{i}: {line.strip()}' for p in files
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert hits == []


def test_the_library_finds_its_files_inside_the_package():
    """A regular (non-editable) install works: no module walks up the file tree to the workflow."""
    hits = [f'{p.relative_to(ROOT)}:{i}' for p in LIBRARY.rglob('*.py')
            for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(r'parents\[|\.\./|schemas/', line)]
    assert hits == []


# The role packages, each importing only those before it: ground truth, files, the method, the networks, the studies
# built on them, the model families, and the glue to the rules (entropic/__init__.py says what each holds).
ROLES = ['theory', 'files', 'method', 'networks', 'studies', 'backends', 'pipeline']


def test_the_library_is_its_role_packages():
    packages = sorted(p.name for p in LIBRARY.iterdir() if (p / '__init__.py').is_file())
    loose = sorted(p.name for p in LIBRARY.glob('*.py') if p.name != '__init__.py')
    assert packages == sorted(ROLES) and loose == []


def test_each_role_package_imports_only_the_packages_before_it():
    hits = []
    for path in sorted(LIBRARY.rglob('*.py')):
        parts = path.relative_to(ROOT / 'workflow').with_suffix('').parts
        if len(parts) < 3:
            continue
        role = parts[1]
        package = '.'.join(parts[:-1])
        for module in sorted(imports(path, package)):
            target = module.split('.')[1] if module.count('.') else 'entropic'
            if target == 'entropic' or ROLES.index(target) > ROLES.index(role):
                hits.append(f'{path.relative_to(LIBRARY)} ({role}) imports {module}')
    assert hits == []


def test_every_package_docstring_names_its_modules():
    """entropic/__init__.py names every role package, and each package's docstring every module in it
    (docs/extending.md points readers there). The backends are found by their registry, not listed."""
    import importlib
    top = set(re.findall(r'\w+', importlib.import_module('entropic').__doc__))
    hits = [f'entropic does not name {role}' for role in ROLES if role not in top]
    for role in set(ROLES) - {'backends'}:
        words = set(re.findall(r'\w+', importlib.import_module(f'entropic.{role}').__doc__))
        modules = {p.stem for p in (LIBRARY / role).glob('*.py')} - {'__init__'}
        hits += [f'entropic.{role} does not name {m}' for m in sorted(modules - words)]
    assert hits == []


# Modules whose science needs numpy and scipy only: importing one must not load torch (about 2 s) or seaborn
# (about 3 s), which every pipeline job importing it would pay at start-up.
NUMPY_ONLY = ['entropic.files.store', 'entropic.files.curve_table', 'entropic.theory.noise', 'entropic.theory.partitions', 'entropic.theory.mixtures', 'entropic.theory.exact',
              'entropic.theory.point_masses', 'entropic.theory.closed_forms', 'entropic.method.speciation', 'entropic.studies.peers', 'entropic.method.schedules',
              'entropic.studies.schedule_study']


def test_numpy_only_modules_load_neither_torch_nor_seaborn():
    import subprocess
    import sys
    code = ('import importlib, sys\n'
            f'for name in {NUMPY_ONLY!r}:\n'
            '    importlib.import_module(name)\n'
            "print(sorted(m for m in ('torch', 'seaborn', 'matplotlib') if m in sys.modules))")
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ['[]']


def test_readout_modules_load_torch_only_where_they_sample():
    """A model_entropy job reads stored posteriors with numpy: entropic.method.posterior, trajectories and runs import
    torch (about 1.4 s a job) inside the functions that sample or guide, not at import."""
    import subprocess
    import sys
    code = ('import sys\nfrom entropic.files import curve_table, store\nfrom entropic.method import posterior\n'
            'from entropic.pipeline import trajectories\nfrom entropic.method.runs import Run\n'
            "before = 'torch' in sys.modules\n"
            "Run.from_config('w2', {'guidance': 2.0}).guidance()\n"
            "print(before, 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ['False', 'True']


def test_the_config_check_does_not_build_jsonschemas_iri_parsers():
    """Every Snakemake start imports entropic.pipeline.configuration: without rfc3987_syntax's Lark parsers (0.7 s),
    which the schema's keywords never use; validation still works."""
    import subprocess
    import sys
    code = ('import sys\nfrom entropic.pipeline import configuration\n'
            "print(configuration.validate_config({'gmm': {'bogus': 1}}, '.')[:1], 'lark' in sys.modules)")
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "bogus" in result.stdout and result.stdout.split()[-1] == 'False'


def test_a_jobs_logger_takes_the_imports_objects_out_of_the_collectors_reach(tmp_path):
    """entropic.files.job_log.start, every script's first call, freezes the objects that exist by then (gc.freeze), so
    that the interpreter's shutdown at the job's end does not walk them (0.3-0.55 s a job); it still logs."""
    import subprocess
    import sys
    code = ('import gc\nfrom entropic.files import job_log\nbefore = gc.get_freeze_count()\n'
            f"job_log.start({str(tmp_path / 'job.log')!r}).info('done')\n"
            'print(before, gc.get_freeze_count() > 1000)')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ['0', 'True']
    assert (tmp_path / 'job.log').read_text().rstrip().endswith('INFO done')


def test_an_error_that_ends_a_job_is_the_last_line_of_its_log(tmp_path):
    """Snakemake points a failed job's user to its log: the error that ended it is there, in one line, and the
    job still fails with the traceback on stderr."""
    import subprocess
    import sys
    code = (f"from entropic.files import job_log\nlog = job_log.start({str(tmp_path / 'job.log')!r})\nlog.info('sampling')\n"
            "raise ValueError('results/models/digits/checkpoint.pt: cannot read checkpoint')")
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1 and 'Traceback' in result.stderr
    lines = (tmp_path / 'job.log').read_text().splitlines()
    assert lines[-2].endswith('INFO sampling')
    assert lines[-1].endswith('ERROR ValueError: results/models/digits/checkpoint.pt: cannot read checkpoint')


# Modules every backend may build on; a family module (one that registers a BACKEND of its own) imports no other
# family's. digits_vp is the worked example of a variant of one family (the digits network as a DDPM).
SHARED_BACKEND_MODULES = {'base', 'pretrained', 'trained', 'diffusers'}
VARIANTS = {'digits_vp': {'digits'}}


def test_no_model_family_imports_another_familys_module():
    """A family (a backend module other than the shared ones) imports only the shared backend modules: what two
    families share lives in one place (the shared backend modules or entropic.networks)."""
    families = {p.stem for p in (LIBRARY / 'backends').glob('*.py')} - SHARED_BACKEND_MODULES - {'__init__'}
    hits = []
    for p in sorted((LIBRARY / 'backends').glob('*.py')):
        if p.stem not in families:
            continue
        imported = set(re.findall(r'^from (?:\.|entropic\.backends\.)(\w+) import', p.read_text(), re.M))
        imported |= set(re.findall(r'from entropic\.backends import ([\w, ]+)', p.read_text()))
        names = {name.strip() for group in imported for name in group.split(',')}
        other = (names & families) - {p.stem} - VARIANTS.get(p.stem, set())
        hits += [f'backends/{p.name} imports the family module {name}' for name in sorted(other)]
    assert hits == []
