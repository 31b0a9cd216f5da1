"""The documentation a reader can follow: no tracked file cites a Markdown file the repository does not
contain (a citation of a team note kept outside the repository cannot be followed)."""

import functools
import importlib.util
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A mention of a Markdown file: a bare name or a relative path ending in .md, not part of a longer
# identifier (`snakemake.output.md`) or of a formatted name (`{model}_guidance.md`).
MENTION = re.compile(r'(?<![\w.{}/-])((?:[\w-]+/)*[\w-]+\.md)\b')
# Files written at run time by a test, which therefore exist when the test that names them runs.
WRITTEN_BY_TESTS = {'table.md'}   # tests/test_faults.py writes it under tmp_path


def output_patterns(root):
    """Regular expressions of the Markdown tables the pipeline writes, read from the catalogue of docs/results.md
    (which the test below checks against the rules' outputs; `<model>` as one path part)."""
    page = root / 'docs' / 'results.md'
    names = {Path(path).name for path, _ in catalogue(page.read_text())} if page.is_file() else set()
    patterns = {''.join(r'[\w-]+' if p.startswith('<') else re.escape(p) for p in re.split(r'(<\w+>)', name))
                for name in names if name.endswith('.md')}
    return [re.compile(p + r'\Z') for p in patterns]


def unfollowable_citations(root, files):
    """(file, line number, name) for every mention in `files` (paths relative to `root`) of a Markdown file
    that is neither in `files` (as a path from the root or from the mentioning file, or by its file name)
    nor a table the pipeline writes (results/... or an output of a rule) nor written by a test."""
    tracked = set(files)
    names = {Path(f).name for f in files}
    outputs = output_patterns(root)
    found = []
    for f in files:
        try:
            text = (root / f).read_text()
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for name in MENTION.findall(line):
                beside = (Path(f).parent / name).as_posix()
                if name in tracked or beside in tracked or Path(name).name in names or name in WRITTEN_BY_TESTS:
                    continue
                if name.startswith('results/') or any(p.match(Path(name).name) for p in outputs):
                    continue
                found.append((f, number, name))
    return found


def tracked_files():
    return subprocess.run(['git', 'ls-files'], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.splitlines()


def test_no_tracked_file_cites_a_markdown_file_outside_the_repository():
    assert unfollowable_citations(ROOT, tracked_files()) == []


def test_the_check_finds_a_planted_citation(tmp_path):
    # The check above can fail: a tree with a catalogue of the tables, a page that exists and one cited that does not.
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'docs' / 'results.md').write_text(
        '| figure | rule | what it shows |\n|---|---|---|\n| `results/tables/<model>_guidance.{csv,md}` | `t` | x |\n')
    (tmp_path / 'docs' / 'method.md').write_text('See method.md and ../README.md.\n')
    (tmp_path / 'README.md').write_text('docs/method.md, results/tables/digits_guidance.md, digits_guidance.md\n')
    paper, missing, style = (stem + '.md' for stem in ('PAPER', 'docs/missing', 'STYLE'))  # not cited here
    (tmp_path / 'code.py').write_text(f'# the estimator ({paper} 2.2); snakemake.output.md; f"{{m}}_guidance.md"\n'
                                      f'# see {missing} and {style}\n')
    files = ['README.md', 'docs/method.md', 'docs/results.md', 'code.py']
    assert unfollowable_citations(tmp_path, files) == [
        ('code.py', 1, paper), ('code.py', 2, missing), ('code.py', 2, style)]


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_configuration_reference_is_the_one_the_schema_generates():
    # docs/configuration.md is written by tools/config_reference.py from the schema; editing either alone fails.
    text = load_tool('config_reference').render()
    assert (ROOT / 'docs' / 'configuration.md').read_text() == text, \
        'docs/configuration.md is out of date: run python tools/config_reference.py'


def test_every_configuration_key_has_a_description():
    tool = load_tool('config_reference')
    table = [line.split(' | ') for line in tool.render().splitlines() if line.startswith('| `')]
    assert len(table) > 100
    assert [row[0] for row in table if row[-1].strip(' |') == ''] == []


def test_every_relative_link_of_the_markdown_pages_resolves():
    # [text](target) and ![alt](target) in every tracked .md file: the target file exists (anchors ignored).
    tracked = set(tracked_files())
    broken = []
    for page in (f for f in tracked if f.endswith('.md')):
        for target in re.findall(r'\]\(([^)\s]+)\)', (ROOT / page).read_text()):
            path = target.split('#')[0]
            if path and not re.match(r'[a-z]+:', path):
                resolved = (ROOT / page).parent.joinpath(path).resolve().relative_to(ROOT).as_posix()
                if resolved not in tracked:
                    broken.append((page, target))
    assert broken == []


@functools.cache
def parsed_workflow():
    """The rules' outputs and the registrations of the workflow as Snakemake parses it (tools/results_catalogue.py)."""
    return load_tool('results_catalogue').parsed(ROOT)


def rule_outputs(rules):
    """{figure or table path a rule writes (under results/figures/ or results/tables/, or the effective config):
    {rules}} of `rules`,
    {rule: [output patterns]} as Snakemake parses the workflow (tools/results_catalogue.py); a wildcard `{model}`
    is written `<model>`, as docs/results.md writes a path that holds a model's name."""
    outputs = {}
    for rule, patterns in rules.items():
        for name in patterns:
            if name.startswith(('results/figures/', 'results/tables/')) or name == 'results/config.yaml':
                outputs.setdefault(re.sub(r'\{(\w+)\}', r'<\1>', name), set()).add(rule)
    return outputs


def catalogue(text):
    """[(path, rule)] of the rows of every table in `text` whose header starts `| figure | rule |`: each
    backticked results/ path of the row's first cell, its `{a,b}` alternatives expanded, with the rule of the
    second cell."""
    rows, in_table = [], False
    for line in text.splitlines():
        if line.startswith('| figure | rule |'):
            in_table = True
        elif in_table and line.startswith('|') and not line.startswith('|---'):
            first, second = re.split(r'(?<!\\)\|', line)[1:3]
            rule = second.strip().strip('`')
            for name in re.findall(r'`(results/[^`]+)`', first):
                head, alternatives, tail = re.fullmatch(r'([^{]*)(?:\{([^}]*)\})?(.*)', name).groups()
                rows += [(head + a + tail, rule) for a in (alternatives.split(',') if alternatives else [''])]
        elif not line.startswith('|'):
            in_table = False
    return rows


def model_names(root):
    """The model names of the shipped configs (config.yaml and config/*.yaml): what `<model>` stands for."""
    import yaml
    names = set()
    for path in [root / 'config.yaml', *sorted((root / 'config').glob('*.yaml'))]:
        names |= set((yaml.safe_load(path.read_text()) or {}).get('models') or {})
    return names


def uncatalogued(outputs, rows, models):
    """(outputs without a catalogue row, rows that name no output or not the rule that writes it). A row may
    write a model's output with `<model>` or with the name of a model of the shipped configs."""
    def pattern(output):
        alternatives = '|'.join(map(re.escape, sorted(models | {'<model>'})))
        return re.compile(''.join(f'(?:{alternatives})' if part == '<model>' else re.escape(part)
                                  for part in re.split(r'(<model>)', output)) + r'\Z')
    patterns = {output: pattern(output) for output in outputs}
    missing = sorted(o for o, p in patterns.items() if not any(p.match(path) for path, _ in rows))
    wrong = sorted((path, rule) for path, rule in rows
                   if not any(p.match(path) and rule in outputs[o] for o, p in patterns.items()))
    return missing, wrong


def test_the_results_catalogue_has_a_row_for_every_figure_and_table_and_no_other():
    # docs/results.md says it lists every figure and table: each output of a rule under results/figures/ or
    # results/tables/ has a row, and each row names such an output and the rule that writes it (the rule is
    # what `--forcerun <rule>` takes to rebuild the figure).
    rows = catalogue((ROOT / 'docs' / 'results.md').read_text())
    assert len(rows) > 40
    outputs = rule_outputs(parsed_workflow()['rules'])
    assert len(outputs) > 40
    assert uncatalogued(outputs, rows, model_names(ROOT)) == ([], [])


def test_the_results_catalogue_is_the_one_the_registrations_generate():
    # The table of docs/results.md is written by tools/results_catalogue.py from what each rule file registers
    # beside its rules (entropic.pipeline.targets); editing the table alone fails.
    tool = load_tool('results_catalogue')
    page = (ROOT / 'docs' / 'results.md').read_text()
    assert tool.render(page, parsed_workflow()['catalogue']) == page, \
        'docs/results.md is out of date: run python tools/results_catalogue.py'


def test_the_catalogue_check_finds_a_missing_row_a_stray_row_and_a_wrong_rule():
    outputs = rule_outputs({'all': [], 'fig_a': ['results/figures/a.pdf', 'results/figures/a.png'],
                            'fig_model': ['results/figures/{model}_b.pdf', 'results/tables/{model}_b.csv'],
                            'model_x': ['results/models/{model}/x.csv']})
    assert outputs == {'results/figures/a.pdf': {'fig_a'}, 'results/figures/a.png': {'fig_a'},
                       'results/figures/<model>_b.pdf': {'fig_model'}, 'results/tables/<model>_b.csv': {'fig_model'}}
    page = ('| figure | rule | what |\n|---|---|---|\n| `results/figures/a.{pdf,png}` | `fig_a` | x \\| y |\n'
            '| `results/figures/digits_b.pdf`, `results/tables/<model>_b.csv` | `fig_model` | z |\n\ntext\n')
    rows = catalogue(page)
    assert rows == [('results/figures/a.pdf', 'fig_a'), ('results/figures/a.png', 'fig_a'),
                    ('results/figures/digits_b.pdf', 'fig_model'), ('results/tables/<model>_b.csv', 'fig_model')]
    assert uncatalogued(outputs, rows, {'digits'}) == ([], [])
    assert uncatalogued(outputs, rows[1:], {'digits'}) == (['results/figures/a.pdf'], [])
    assert uncatalogued(outputs, rows, set()) == (['results/figures/<model>_b.pdf'],
                                                  [('results/figures/digits_b.pdf', 'fig_model')])
    stray = [('results/figures/c.png', 'fig_a'), ('results/figures/a.png', 'fig_model')]
    assert uncatalogued(outputs, rows + stray, {'digits'}) == ([], sorted(stray))
