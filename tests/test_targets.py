"""What `all` builds and which window-fit rules are generated (entropic.pipeline.targets): registered outputs filled in
with the names the config asks for, refusals naming the rule, the catalogue's rows and cells, and the split of
an experiment's or model's curves into window-fit jobs."""

import pytest

from entropic.files import paths
from entropic.pipeline import targets

FIGURE = ['results/figures/{model}_x.pdf', 'results/figures/{model}_x.png', 'results/tables/{model}_x.csv']


def test_all_builds_every_asked_output_with_every_asked_name_in_the_order_of_registration():
    t = targets.Targets()
    t.add('fig_x', FIGURE, ['digits', 'gmm-net'], 'x')
    t.add('table_y', ['results/tables/y.csv', 'results/tables/y.md'], True, 'y')
    t.add('fig_z', ['results/figures/z.pdf'], False, 'z')                 # not asked
    t.add('fig_w', ['results/figures/{model}_w.pdf'], [], 'w')            # asked for no model
    assert t.paths() == ['results/figures/digits_x.pdf', 'results/figures/digits_x.png', 'results/tables/digits_x.csv',
                         'results/figures/gmm-net_x.pdf', 'results/figures/gmm-net_x.png',
                         'results/tables/gmm-net_x.csv', 'results/tables/y.csv', 'results/tables/y.md']


@pytest.mark.parametrize('outputs, when, what, error', [
    (['results/figures/{model}_{run}.pdf'], ['a'], 'x', 'at most one kind of wildcard'),
    (FIGURE, True, 'x', r'wildcard \{model\}: `when` is the names'),
    (['results/figures/a.pdf'], ['digits'], 'x', 'no wildcard: `when` is True or False'),
    (['results/figures/a.pdf'], True, None, 'register what its outputs show'),
    (['results/figures/a.pdf', 'results/tables/b.csv'], True, {'a': 'x'}, r"every output stem \['a', 'b'\]"),
])
def test_a_registration_that_cannot_be_built_or_catalogued_is_refused_naming_the_rule(outputs, when, what, error):
    with pytest.raises(ValueError, match=f'rule fig_a: .*{error}'):
        targets.Targets().add('fig_a', outputs, when, what)


def test_a_rule_registered_twice_is_refused():
    t = targets.Targets()
    t.add('fig_a', ['results/figures/a.pdf'], True, 'x')
    with pytest.raises(ValueError, match='rule fig_a is registered twice'):
        t.add('fig_a', ['results/figures/a.png'], True, 'x')


def test_the_catalogue_has_a_row_per_text_with_the_outputs_it_describes_asked_or_not():
    t = targets.Targets()
    t.add('fig_sweep', ['results/figures/a.pdf', 'results/figures/a.png', 'results/tables/b.csv'], False,
          {'b': 'the table', 'a': 'the figure'})
    t.add('fig_x', FIGURE, [], 'x')
    assert t.catalogue() == [(['results/tables/b.csv'], 'fig_sweep', 'the table'),
                             (['results/figures/a.pdf', 'results/figures/a.png'], 'fig_sweep', 'the figure'),
                             (FIGURE, 'fig_x', 'x')]


def test_a_catalogue_cell_joins_the_formats_of_a_file_and_writes_a_wildcard_as_a_name():
    assert targets.catalogue_cell(FIGURE) == '`results/figures/<model>_x.{pdf,png}`, `results/tables/<model>_x.csv`'
    assert targets.catalogue_cell([paths.effective_config()]) == '`results/config.yaml`'


def _jobs(*subjects):
    return [(j.rule, j.track, j.name, j.estimators, j.log) for j in targets.speciation_jobs(subjects)]


def test_a_subject_whose_curves_place_nothing_has_one_window_fit_of_its_curves_sorted():
    assert _jobs(('gmm', 'k2-d1e1', ['track', 'exact', 'immse'], set())) == [
        ('speciation_gmm_k2_d1e1', 'gmm', 'k2-d1e1', ['exact', 'immse', 'track'], 'results/logs/speciation/gmm-k2-d1e1.log')]


def test_a_curve_that_places_guidance_is_fit_alone_and_every_curve_exactly_once():
    # A placed run samples after its source's window: a job fitting both would be a cycle.
    jobs = _jobs(('models', 'digits', ['w2', 'unguided', 'placed', 'empirical'], {'unguided'}),
                 ('gmm', 'k10-d9', ['exact'], {'exact'}))
    assert jobs == [
        ('speciation_models_digits_unguided', 'models', 'digits', ['unguided'],
         'results/logs/speciation/models-digits-unguided.log'),
        ('speciation_models_digits', 'models', 'digits', ['empirical', 'placed', 'w2'],
         'results/logs/speciation/models-digits.log'),
        ('speciation_gmm_k10_d9_exact', 'gmm', 'k10-d9', ['exact'], 'results/logs/speciation/gmm-k10-d9-exact.log')]


def test_names_that_clash_once_their_characters_are_words_get_a_numeric_suffix():
    jobs = _jobs(('models', 'a-b', ['unguided'], set()), ('models', 'a_b', ['unguided'], set()))
    assert [rule for rule, *_ in jobs] == ['speciation_models_a_b', 'speciation_models_a_b_1']
    assert len({log for *_, log in jobs}) == 2          # their logs differ by the names as they are


FIGURE_SCRIPT = '''"""Figure gmm_window_scale: every experiment's and partition's exact window peak sigma* against its
speciation scale sigma_S (Handke et al. 2026, arXiv:2602.09651, eq. 11)."""

import matplotlib.pyplot as plt
import pandas as pd

from entropic.files import job_log, store
from entropic.pipeline import plotting

plotting.setup()
log = job_log.start(snakemake.log[0])
rows = pd.read_csv(snakemake.input[0]).query("estimator == 'exact'")
fig, ax = plt.subplots(figsize=(5, 4.5))
ax.errorbar(rows['sigma_S'], rows['sigma_peak'], fmt='o',
            yerr=[rows['sigma_peak'] - rows['sigma_peak_lo'], rows['sigma_peak_hi'] - rows['sigma_peak']])
span = [rows[['sigma_S', 'sigma_peak']].min().min() / 2, rows[['sigma_S', 'sigma_peak']].max().max() * 2]
ax.plot(span, span, '--', color='0.5', label='σ* = σ_S')
ax.set(xscale='log', yscale='log', xlabel='speciation scale σ_S = √(Λ − 1)', ylabel='window peak σ* (95% CI)')
ax.legend()
store.save_figure(fig, snakemake.output)
log.info(f'{len(rows)} windows; sigma*/sigma_S from {(rows.sigma_peak / rows.sigma_S).min():.3g} '
         f'to {(rows.sigma_peak / rows.sigma_S).max():.3g}')
'''

FIGURE_RULE = '''


rule fig_gmm_window_scale:
    """Every experiment's fitted window peak against its speciation scale."""
    input:
        paths.table("gmm_windows", "csv"),
    output:
        paths.figure("gmm_window_scale", "pdf"),
        paths.figure("gmm_window_scale", "png"),
    log:
        paths.log("fig_gmm_window_scale"),
    script:
        "../scripts/fig_gmm_window_scale.py"


register(
    rules.fig_gmm_window_scale,
    when=bool(GMM["experiments"]),
    what="every experiment's and partition's exact window peak σ* against its speciation scale σ_S",
)
'''


def test_a_new_figure_is_its_script_and_its_rule(tmp_path):
    # In a copy of the project: the two files written, the catalogue rewritten by its tool, and nothing else
    # changed; `all` then builds the figure, and the catalogue names it with its rule.
    import hashlib
    import importlib.util

    from tests.support.snakemake_cli import copy_project

    def digests(folder):
        return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in folder.rglob('*') if p.is_file()}

    copy = copy_project(tmp_path / 'project')
    before = digests(copy)
    (copy / 'workflow' / 'scripts' / 'fig_gmm_window_scale.py').write_text(FIGURE_SCRIPT)
    with open(copy / 'workflow' / 'rules' / 'figures.smk', 'a') as rules:
        rules.write(FIGURE_RULE)
    spec = importlib.util.spec_from_file_location('results_catalogue', copy / 'tools' / 'results_catalogue.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    parsed = tool.parsed(copy)
    page = copy / 'docs' / 'results.md'
    page.write_text(tool.render(page.read_text(), parsed['catalogue']))

    after = digests(copy)
    changed = sorted(name for name in after if before.get(name) != after[name])
    assert changed == ['docs/results.md', 'workflow/rules/figures.smk', 'workflow/scripts/fig_gmm_window_scale.py']
    assert {'results/figures/gmm_window_scale.pdf', 'results/figures/gmm_window_scale.png'} <= set(parsed['all'])
    assert ("| `results/figures/gmm_window_scale.{pdf,png}` | `fig_gmm_window_scale` | every experiment's and "
            "partition's exact window peak σ* against its speciation scale σ_S |") in page.read_text().splitlines()
