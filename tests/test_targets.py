"""What `all` builds and which window-fit rules are generated (entropic.targets): registered outputs filled in
with the names the config asks for, refusals naming the rule, the catalogue's rows and cells, and the split of
an experiment's or model's curves into window-fit jobs."""

import pytest

from entropic import paths, targets

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
