"""Every path under results/ is spelled in one place, entropic.files.paths: the rules, scripts and library ask it, its
patterns and the names filled in agree, no two kinds of file can be mistaken for one another, and the layout
docs/results.md shows is the one it spells."""

import inspect
import re
from pathlib import Path

import pytest

from entropic.files import paths

ROOT = Path(__file__).resolve().parents[1]

# One call of every function of entropic.files.paths that spells a file, with wildcard patterns for its names: what a
# rule writes as an output.
PATTERNS = {
    'partitions': paths.partitions('{track}', '{name}'),
    'curve': paths.curve('{track}', '{name}', '{estimator}'),
    'curve samples': paths.curve('{track}', '{name}', '{estimator}', 'npz'),
    'windows': paths.windows('{track}', '{name}', '{estimator}'),
    'placing': paths.placing('{track}', '{name}', '{estimator}', '{partition}', '{kind}'),
    'study samples': paths.study('{track}', '{name}', '{set}', 'npz'),
    'study metrics': paths.study('{track}', '{name}', '{set}', 'csv'),
    'schedules': paths.schedules('{track}', '{name}'),
    'means': paths.mixture('{experiment}')['means'],
    'mixture': paths.mixture('{experiment}')['mixture'],
    'checkpoint': paths.checkpoint('{model}'),
    'losses': paths.losses('{model}'),
    'shard': paths.shard('{model}', '{run}', '{shard}'),
    'samples': paths.samples('{model}', '{run}'),
    'quality': paths.quality('{model}'),
    'images': paths.images('{model}'),
    'clone agreement': paths.clone_agreement('{model}'),
    'figure': paths.figure('{name}', '{ext}'),
    'table': paths.table('{name}', '{ext}'),
    'effective config': paths.effective_config(),
    'log': paths.log('{rule}'),
    'job log': paths.log('{rule}', '{name}'),
}


def test_every_function_that_spells_a_path_is_in_the_table_above():
    # A path function added to entropic.files.paths without a row here would escape the tests below.
    functions = {name for name, f in inspect.getmembers(paths, inspect.isfunction) if f.__module__ == paths.__name__}
    called = {'partitions', 'curve', 'windows', 'placing', 'study', 'schedules', 'mixture', 'checkpoint', 'losses', 'shard',
              'samples', 'quality', 'images', 'clone_agreement', 'figure', 'table', 'effective_config', 'log'}
    assert functions - called == {'subject', 'figures', 'tables'}   # the folder of a subject; lists of the formats


def _regex(pattern):
    """The paths a Snakemake output pattern matches: each {wildcard} one or more characters but '/'."""
    return re.compile(''.join('[^/]+' if part.startswith('{') else re.escape(part)
                              for part in re.split(r'(\{\w+\})', pattern)) + r'\Z')


def _example(pattern, track='models'):
    """A path the pattern stands for: every name 'x', the track `track`, the format csv."""
    return re.sub(r'\{(\w+)\}', lambda m: {'track': track, 'ext': 'csv'}.get(m.group(1), 'x'), pattern)


@pytest.mark.parametrize('kind', PATTERNS)
def test_no_path_of_one_kind_is_a_path_of_another(kind):
    # Two outputs Snakemake could match to one file make its rules ambiguous; a reader could not tell a file's
    # kind from its path either.
    path = _example(PATTERNS[kind])
    assert path.startswith('results/')
    assert [other for other, pattern in PATTERNS.items() if other != kind and _regex(pattern).match(path)] == []


def test_a_pattern_with_its_names_filled_in_is_the_path_of_those_names():
    # A rule's output is a pattern ('{experiment}') and another rule's input the same call with a name: Snakemake
    # links the two jobs only where they agree.
    names = dict(track='gmm', name='k2-d1e1', estimator='track-exact', experiment='k2-d1e1', model='digits',
                 run='w2', shard=3, set='tuning')
    assert paths.curve('{track}', '{name}', '{estimator}').format(**names) == paths.curve('gmm', 'k2-d1e1', 'track-exact')
    assert paths.shard('{model}', '{run}', '{shard}').format(**names) == paths.shard('digits', 'w2', 3)
    assert paths.study('{track}', '{name}', '{set}', 'npz').format(**names) == paths.study('gmm', 'k2-d1e1', 'tuning', 'npz')
    assert paths.mixture('{experiment}')['means'].format(**names) == paths.mixture('k2-d1e1')['means']


def test_a_subject_of_no_track_is_refused_naming_the_tracks():
    with pytest.raises(ValueError, match="unknown track 'model'; tracks: gmm, models"):
        paths.curve('model', 'digits', 'unguided')


def test_the_layout_docs_results_md_shows_is_the_one_spelled_here():
    # The block under "Where results land": each line a path with <names> and what the file holds (continued on
    # indented lines). Every file kind
    # spelled here has a line, and every line is a path spelled here.
    text = (ROOT / 'docs' / 'results.md').read_text()
    block = text.split('## Where results land', 1)[1].split('```')[1]
    documented = [line.split()[0] for line in block.splitlines() if line.startswith('results/')]   # not a continuation
    shown = [re.sub(r'<\w+>|\*', '{x}', line).replace('{pdf,png}', '{ext}').replace('{csv,md}', '{ext}')
             .replace('...', '{x}') for line in documented]
    missing = [kind for kind, pattern in PATTERNS.items()
               if not any(_regex(s).match(_example(pattern, track)) for s in shown for track in paths.TRACKS)]
    stray = [line for line, s in zip(documented, shown) if not any(_regex(p).match(_example(s)) for p in PATTERNS.values())]
    assert (missing, stray) == ([], [])


# A string literal that starts with results/ (a path spelled in place), outside comments.
LITERAL = re.compile(r'''(?<![\w.])[fr]?["']results/''')


def spelled_paths(files, root=ROOT):
    """'file:line: text' of every string literal starting with results/ in `files` (paths under `root`), comment
    lines and trailing comments left out."""
    hits = []
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.lstrip().startswith('#') and LITERAL.search(re.sub(r'\s#.*$', '', line)):
                hits.append(f'{path.relative_to(root)}:{number}: {line.strip()}')
    return hits


def test_no_rule_script_or_library_module_spells_a_results_path():
    files = [ROOT / 'Snakefile', *sorted((ROOT / 'workflow' / 'rules').glob('*.smk')),
             *sorted((ROOT / 'workflow' / 'scripts').glob('*.py')),
             *sorted(p for p in (ROOT / 'workflow' / 'entropic').rglob('*.py') if p != ROOT / 'workflow/entropic/files/paths.py')]
    assert len(files) > 60
    assert spelled_paths(files) == []


def test_the_check_finds_a_path_spelled_in_place(tmp_path):
    (tmp_path / 'a.smk').write_text('rule a:\n    output:\n        "results/x.csv",  # results/ in a comment\n'
                                    '    log:\n        f"results/logs/{x}.log",\n# "results/commented.csv"\n'
                                    'x = "see results/ below"\n')
    assert spelled_paths([tmp_path / 'a.smk'], tmp_path) == [
        'a.smk:3: "results/x.csv",  # results/ in a comment', 'a.smk:5: f"results/logs/{x}.log",']
