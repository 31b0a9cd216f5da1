"""End to end: Snakemake runs config/test.yaml from an empty directory and writes the outputs docs/results.md lists."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from entropic.theory import closed_forms
from entropic.files.curve_table import CURVE_COLUMNS
from tests.support import snakemake_cli

pytestmark = [pytest.mark.slow, pytest.mark.schedule(0, unit='test')]

ROOT = Path(__file__).resolve().parents[1]


def snakemake(workdir, *args):
    return snakemake_cli.snakemake(workdir, *args, configfiles=[snakemake_cli.TEST_CONFIG], cores=2)


@pytest.fixture(scope='module')
def run(test_config_run):
    return test_config_run      # the session's one run of config/test.yaml (tests/conftest.py): read it, never change it


def test_every_figure_and_table_is_built(run):
    for name in ('gmm_vp_dimension_sweep', 'gmm_ve_dimension_sweep', 'gmm_relative_width', 'gmm_hierarchy',
                 'gmm_estimators', 'gmm_guidance', 'gmm_tracker_bias', 'digits_samples', 'digits_speciation',
                 'digits_entropy', 'digits_guidance', 'gmm-net_entropy', 'digits_guidance_study',
                 'gmm_guidance_study', 'gmm_clone_agreement', 'digits_clone_agreement', 'gmm_flow_dimension_sweep',
                 'gmm_flow_shift', 'gmm_schedules', 'digits_schedules'):
        for ext in ('pdf', 'png'):
            assert (run / 'results' / 'figures' / f'{name}.{ext}').stat().st_size > 10_000
    table = pd.read_csv(run / 'results' / 'tables' / 'gmm_windows.csv')
    assert set(table['experiment']) == {'k2-d1e2', 'k2-d1e4', 'k2-d256', 'k4-d1e3', 'hierarchy-2x2'}
    assert set(table.query("experiment == 'k4-d1e3'")['estimator']) == {'exact', 'track', 'track-exact', 'track-ddpm',
                                                                         'track-cfg3', 'track-combined', 'immse'}
    # The combined readout of the same trajectories: less noise than the tracker's (measured: max SE 0.0067
    # against 0.018 for the four classes, 0.011 against 0.012 for the binary form).
    curves = {name: pd.read_csv(run / 'results' / 'gmm' / 'k4-d1e3' / 'entropy' / f'{name}.csv').query("partition == 'classes'")
              for name in ('track', 'track-combined')}
    assert curves['track-combined']['H_se'].max() < 0.6 * curves['track']['H_se'].max()
    assert (run / 'results' / 'tables' / 'gmm_windows.md').read_text().startswith('| experiment')
    guidance = pd.read_csv(run / 'results' / 'tables' / 'gmm_guidance.csv').set_index('variant')
    assert guidance.loc['track-cfg3', 'readout'] == 'cross-entropy' and guidance.loc['track', 'readout'] == 'entropy'
    assert guidance.loc['track-cfg3', 'shift_log_sigma'] > 0     # guidance decides at higher noise
    # SD3's shift against the window, from the schema's defaults: 2 signals x 2 resolutions x 2 shifts, and the
    # closed-form matching shift sqrt(16 x 128^2 / (16 x 32^2)) = 4 (tests/test_flow.py).
    shift = pd.read_csv(run / 'results' / 'tables' / 'gmm_flow_shift.csv')
    assert len(shift) == 8 and set(shift['shift']) == {1.0, 3.0} and set(shift['steps']) == {28}
    assert shift.query('resolution == 1024')['matching_shift'].to_numpy() == pytest.approx(4.0)
    flow = pd.read_csv(run / 'results' / 'tables' / 'gmm_flow_windows.csv').set_index('experiment')
    assert set(flow.index) == {'k2-d1e2', 'k2-d1e4'} and set(flow['coordinate']) == {'flow_t'}
    assert np.all((flow['peak_lo'] <= flow['peak']) & (flow['peak'] <= flow['peak_hi']))
    # The schedule study: every grid of config/test.yaml at both budgets and solvers, compared with EDM's on the
    # same seeds (EDM's own gain exactly 0), beside the exact samples' floor.
    schedules = pd.read_csv(run / 'results' / 'tables' / 'gmm_schedules.csv')
    assert set(schedules['schedule']) == {'edm', 'entropic', 'rescaled', 'semantic-1', 'exact samples'}
    assert set(schedules['name']) == {'k2-d1e2', 'k4-d1e3'} and set(schedules['nfe']) == {0, 3, 7}
    assert (schedules.query("schedule == 'edm'")['gain'] == 0).all() and set(schedules['seeds']) == {2}
    network = pd.read_csv(run / 'results' / 'tables' / 'digits_schedules.csv')
    assert set(network['name']) == {'digits, class-conditional', 'digits, unconditional'}
    assert set(network['metric']) == {'fd', 'accuracy', 'histogram_kl'} and set(network['guidance']) == {1.0, 2.0}
    leftovers = [p for p in (run / 'results').rglob('.*') if p.is_file()]
    assert leftovers == [], 'temporary files left behind'


def test_experiment_files_let_anyone_recompute_the_truth(run):
    folder = run / 'results' / 'gmm' / 'k2-d1e4'
    info = json.loads((folder / 'mixture.json').read_text())
    means = np.load(folder / 'means.npy')
    assert means.shape == (info['num_components'], info['dim']) == (2, 10_000)
    assert json.loads((folder / 'partitions.json').read_text())['classes']['cells'] == [[0], [1]]
    curve = pd.read_csv(folder / 'entropy' / 'exact.csv')
    assert list(curve.columns) == CURVE_COLUMNS
    assert set(curve['estimator']) == {'exact'}
    # The two-class closed form from the written means alone (|m|^2 of either component).
    mean_sq_norm = float((means[0] ** 2).sum())
    closed = closed_forms.two_class_entropy(curve['sigma'], mean_sq_norm, info['variance'])
    # 1e-5 nats: the rare-event floor (tests/test_exact.py) for the test config's 8 x 128 points.
    assert np.all(np.abs(curve['H'] - closed) <= 4 * curve['H_se'] + 1e-5)
    np.testing.assert_allclose(curve['t'], 0.5 * np.log1p(curve['sigma'] ** 2))
    closed_phi = closed_forms.two_class_collision(curve['sigma'], mean_sq_norm, info['variance'])
    assert np.all(np.abs(curve['phi'] - closed_phi) <= 4 * curve['phi_se'] + 1e-5)     # the same floor
    assert set(np.load(folder / 'entropy' / 'exact.npz')) == {'sigma', 'classes/H', 'classes/rate', 'classes/phi'}


def test_windows_bracket_their_estimates_and_carry_theory(run):
    windows = pd.read_csv(run / 'results' / 'gmm' / 'hierarchy-2x2' / 'windows' / 'exact.csv')
    assert set(windows['coordinate']) == {'t', 'sigma', 'log_sigma'}
    assert set(windows['partition']) == {'classes', 'superclasses', 'subclasses-of-0', 'subclasses-of-1'}
    assert np.all((windows['peak_lo'] <= windows['peak']) & (windows['peak'] <= windows['peak_hi']))
    t = windows.query("coordinate == 't'").set_index('partition')
    assert t.loc['superclasses', 'peak'] > t.loc['subclasses-of-0', 'peak'] + 0.5   # coarse first
    assert t.loc['superclasses', 'theory'] == pytest.approx(closed_forms.speciation_time(t.loc['superclasses', 'Lambda']))


# The files a run's results are compared by: its data (curves, shards, tables, mixtures, networks), not its figures.
COMPARED = ('.csv', '.npz', '.npy', '.json', '.pt')


def figure_only_rules(workdir):
    """The rules of config/test.yaml's run every job of which writes figures alone (.pdf and .png), from a dry run
    in `workdir` (their outputs as Snakemake lists them, `output: a, b`)."""
    result = snakemake(workdir, '-n')
    assert result.returncode == 0, result.stderr[-2000:]
    outputs, rule = {}, None
    for line in result.stdout.splitlines():
        if line.startswith(snakemake_cli.JOB_HEADERS):
            rule = line.split()[1].rstrip(':')
        elif line.startswith('    output: '):
            outputs.setdefault(rule, []).extend(line.split(':', 1)[1].replace(',', ' ').split())
    return sorted(name for name, files in outputs.items() if all(Path(f).suffix in ('.pdf', '.png') for f in files))


@pytest.mark.schedule(-1, unit='test')   # first: it starts its run while another worker makes the shared one
def test_a_second_run_from_scratch_gives_byte_identical_results(request, tmp_path):
    """Every data file of the results (COMPARED) of a second run of config/test.yaml from an empty directory has
    the bytes of the shared run's, and the two runs wrote the same such files. The second run leaves out the jobs
    that write figures alone (`--omit-from`: 8 of its 77 jobs, a sixth of its CPU time), which no compared file
    comes from: a compared file missing from it fails the comparison of the file lists."""
    import hashlib
    skipped = figure_only_rules(tmp_path)
    assert {'fig_model_entropy', 'fig_gmm_hierarchy'} <= set(skipped), skipped
    result = snakemake(tmp_path, '--omit-from', *skipped)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (tmp_path / 'results' / 'figures' / 'gmm_hierarchy.png').exists()    # it left them out
    run = request.getfixturevalue('run')      # after this run: another worker may be making it meanwhile

    def digests(root):
        return {p.relative_to(root): hashlib.md5(p.read_bytes()).hexdigest()
                for p in (root / 'results').rglob('*') if p.suffix in COMPARED}
    first, second = digests(run), digests(tmp_path)
    assert first.keys() == second.keys() and len(first) > 50
    assert [str(p) for p in first if first[p] != second[p]] == []


def test_rerun_does_nothing(run):
    result = snakemake(run, '-n')
    assert result.returncode == 0
    assert 'Nothing to be done' in result.stdout + result.stderr


def dry_run_with(run, tmp_path, edit):
    """Snakemake's dry run in the finished `run` with config/test.yaml changed by `edit(config)`: (the names of
    the rules it schedules, its stdout)."""
    import yaml
    config = yaml.safe_load((ROOT / 'config' / 'test.yaml').read_text())
    edit(config)
    changed = tmp_path / 'changed.yaml'
    changed.write_text(yaml.safe_dump(config))   # any key order: params are recorded with sorted keys (entropic.pipeline.provenance)
    result = snakemake_cli.snakemake(run, '-n', configfiles=[changed])
    assert result.returncode == 0, result.stderr[-2000:]
    return snakemake_cli.job_rules(result.stdout), result.stdout


def test_changing_one_value_reruns_only_what_depends_on_it(run, tmp_path):
    scheduled, stdout = dry_run_with(run, tmp_path, lambda c: c['models']['digits']['runs']['cfg3'].update(guidance=2.5))
    # The guided run's shards and what reads them; not the training, not the unguided run, not the GMM track.
    assert {'model_trajectories', 'model_entropy', 'fig_model_guidance'} <= scheduled
    assert not scheduled & {'model_train', 'model_partitions', 'model_reference_entropy', 'gmm_mixture', 'gmm_track_entropy'}
    # the model's window fits, one job for its runs (the unguided window, which places cfg3-placed, has its own)
    assert {r for r in scheduled if r.startswith('speciation_')} == {'speciation_models_digits'}
    assert 'results/models/digits/trajectories/unguided' not in stdout


def test_a_placement_by_another_partition_samples_the_placed_run_again(run, tmp_path):
    # Its placing files do not exist yet, so they are plain inputs: a job waiting on a checkpoint has its params
    # left unchecked by Snakemake, and the finished shards would be taken for up to date.
    scheduled, stdout = dry_run_with(run, tmp_path, lambda c: c['models']['digits']['runs']['cfg3-placed']
                                     ['guidance_placement'].update(partition='loops-vs-strokes'))
    assert {'placing_window', 'model_trajectories', 'model_entropy'} <= scheduled, scheduled
    assert 'results/models/digits/trajectories/cfg3-placed/shard-0.npz' in stdout
    assert 'results/models/digits/placing/unguided/loops-vs-strokes-windows.csv' in stdout


SAMPLING = {'model_trajectories', 'guidance_study_samples', 'guidance_study_metrics', 'model_schedule_study'}


def test_a_new_partition_samples_nothing_again_and_a_changed_placing_window_does(run, tmp_path):
    """A partition added to the digits model's file rewrites the unguided run's curve and window tables, which
    place the guidance of `cfg3-placed`, the guidance study's and the schedule study's: a run of what those write
    (for real, on a copy of the finished run) reads the new partition's curves and refits the windows; the checkpoint
    placing_window copies the placing partition's rows with the same bytes, so nothing is sampled or measured
    again. A placing window whose bytes change has the jobs that read it run again (a dry run)."""
    import shutil
    import subprocess
    import yaml
    work = tmp_path / 'run'
    subprocess.run(['cp', '-a', str(run), str(work)], check=True)
    partitions = tmp_path / 'digits.yaml'
    partitions.write_text((ROOT / 'config' / 'partitions' / 'digits.yaml').read_text() + '\nsevens-vs-ones: [[7], [1]]\n')
    overlay = tmp_path / 'partitions.yaml'
    overlay.write_text(yaml.safe_dump({'models': {'digits': {'partitions': str(partitions)}}}))
    configfiles = [snakemake_cli.TEST_CONFIG, overlay]
    placing = work / 'results' / 'models' / 'digits' / 'placing' / 'unguided' / 'classes-windows.csv'
    before = placing.read_bytes()

    # what the sampling jobs write (not the figures, which only read them)
    targets = ['results/models/digits/entropy/cfg3-placed.csv', 'results/models/digits/guidance_study/evaluation.csv',
               'results/models/digits/schedules.csv']
    result = snakemake_cli.snakemake(work, *targets, configfiles=configfiles, cores=2)
    assert result.returncode == 0, result.stderr[-3000:]
    ran = snakemake_cli.job_rules(result.stdout + result.stderr)
    assert {'model_partitions', 'model_entropy', 'placing_window'} <= ran, ran
    assert not ran & SAMPLING, ran
    assert placing.read_bytes() == before
    assert 'sevens-vs-ones' in (work / 'results' / 'models' / 'digits' / 'entropy' / 'cfg3-placed.csv').read_text()
    result = snakemake_cli.snakemake(work, '-n', *targets, configfiles=configfiles, cores=2)
    assert 'Nothing to be done' in result.stdout + result.stderr, result.stdout[-3000:]

    header, *rows = before.decode().splitlines()
    assert len(rows) > 1
    placing.write_text('\n'.join([header, *rows[::-1]]) + '\n')       # other bytes: the jobs that read it run again
    result = snakemake_cli.snakemake(work, '-n', *targets, configfiles=configfiles, cores=2)
    assert result.returncode == 0, result.stderr[-3000:]
    planned = snakemake_cli.job_rules(result.stdout)
    assert {'model_trajectories', 'guidance_study_samples'} <= planned, planned
    assert 'model_schedule_study' not in planned        # it reads the placing curve alone, whose bytes are the same
    shutil.rmtree(work)


def test_a_tracker_variant_or_an_experiment_reruns_only_its_experiments_jobs(run, tmp_path):
    """One job fits all of an experiment's curves and one tracks all its variants: a change to a tracker variant
    reruns the tracked experiment's tracker and window jobs (not its exact curve), and a change to one
    experiment reruns its jobs alone."""

    def scheduled(edit):
        rules, stdout = dry_run_with(run, tmp_path, edit)
        experiments = {path.split('/')[2] for line in stdout.splitlines() if line.strip().startswith('output:')
                       for path in line.split(':', 1)[1].replace(',', ' ').split() if path.startswith('results/gmm/')}
        return rules, experiments

    rules, experiments = scheduled(lambda c: c['gmm']['track']['variants']['track-ddpm'].update(steps=40))
    assert {'gmm_track_entropy', 'speciation_gmm_k4_d1e3'} <= rules, rules
    assert experiments == {'k4-d1e3'}
    assert not rules & {'gmm_mixture', 'gmm_exact_entropy', 'speciation_gmm_k4_d1e3_exact', 'model_trajectories'}
    rules, experiments = scheduled(lambda c: c['gmm']['experiments']['hierarchy-2x2'].update(fine_signal_per_dim=0.12))
    assert {'gmm_mixture', 'gmm_exact_entropy', 'speciation_gmm_hierarchy_2x2'} <= rules, rules
    assert experiments == {'hierarchy-2x2'}
    assert not rules & {'gmm_track_entropy', 'gmm_immse_entropy', 'model_train'}


def test_report_is_built_with_every_figure_and_caption(run, tmp_path):
    result = snakemake(run, '--report', str(tmp_path / 'report.html'))
    output = result.stdout + result.stderr
    assert result.returncode == 0 and 'ERROR' not in output, output[-2000:]
    html = (tmp_path / 'report.html').read_text()
    for name in ('gmm_hierarchy.png', 'digits_speciation.png', 'gmm-net_entropy.png', 'models_windows.csv'):
        assert name in html
    assert 'the picture of speciation' in html and 'Trained models' in html


def test_notebooks_run_on_the_results(run, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient
    monkeypatch.setenv('ENTROPIC_RESULTS', str(run / 'results'))
    monkeypatch.setenv('ENTROPIC_PROJECT', str(tmp_path))    # extending.ipynb's copy of the project
    for path in sorted((ROOT / 'notebooks').glob('*.ipynb')):
        notebook = nbformat.read(path, as_version=4)
        client = NotebookClient(notebook, timeout=120, kernel_name='python3',
                                resources={'metadata': {'path': str(ROOT / 'notebooks')}})
        client.execute()


def test_the_extending_notebooks_toy_backend_runs_through_the_rules(tmp_path, monkeypatch):
    """notebooks/extending.ipynb writes a toy model family as a module of a copy of the project and runs the
    rules on it: its model-family cells, alone in a fresh kernel, run `all` with a config of one `models:` entry
    for the new backend and leave the toy model's entropy curve, figure and window table in the copy (not in the
    repository), every partition's entropy finite and within [0, log K] for its K cells (an entropy
    over K cells), up to the curve file's rounding to 10 significant digits (entropic.files.store.write_csv: 5e-11 at
    log 2 = 0.69)."""
    import nbformat
    from nbclient import NotebookClient
    notebook = nbformat.read(ROOT / 'notebooks' / 'extending.ipynb', as_version=4)
    notebook.cells = [cell for cell in notebook.cells if 'model-family' in cell.metadata.get('tags', [])]
    monkeypatch.setenv('ENTROPIC_PROJECT', str(tmp_path))
    NotebookClient(notebook, timeout=120, kernel_name='python3',
                   resources={'metadata': {'path': str(ROOT / 'notebooks')}}).execute()
    assert not (ROOT / 'workflow' / 'entropic' / 'backends' / 'two_points.py').exists()
    model = tmp_path / 'results' / 'models' / 'two-points'
    curve = pd.read_csv(model / 'entropy' / 'unguided.csv')
    cells = {name: entry['cells'] for name, entry in json.loads((model / 'partitions.json').read_text()).items()}
    assert set(curve['partition']) == set(cells) == {'classes', '0-vs-reference', '1-vs-reference'}
    assert (tmp_path / 'results' / 'figures' / 'two-points_entropy.png').stat().st_size > 5_000
    assert set(pd.read_csv(tmp_path / 'results' / 'tables' / 'models_windows.csv')['model']) == {'two-points'}
    for name, part in curve.groupby('partition'):
        assert len(part) == 64 and np.isfinite(part['H']).all(), name
        assert part['H'].min() >= 0 and part['H'].max() <= np.log(len(cells[name])) + 5e-11, name


def test_tracked_and_immse_curves_agree_with_exact(run):
    folder = run / 'results' / 'gmm' / 'k4-d1e3' / 'entropy'
    for name, partition in (('track-exact', 'classes'), ('immse', 'classes'), ('track', '0-vs-reference')):
        exact_curve = pd.read_csv(folder / 'exact.csv').query('partition == @partition')
        curve = pd.read_csv(folder / f'{name}.csv').query('partition == @partition')
        assert list(curve.columns) == CURVE_COLUMNS and set(curve['readout']) == {'entropy'}
        inside = curve[(curve['sigma'] > exact_curve['sigma'].min()) & (curve['sigma'] < exact_curve['sigma'].max())]
        reference = np.interp(np.log(inside['sigma']), np.log(exact_curve['sigma']), exact_curve['H'])
        # 4 SE plus the interpolation error of the 32-level exact grid (< 0.01 nats here), and for the paper's
        # kernel on the binary form its bias at 64 steps (< 0.01 nats for this mixture, sigma_S = 12.9).
        assert len(inside) > 10 and np.all(np.abs(inside['H'] - reference) <= 4 * inside['H_se'] + 0.02), name
    assert pd.read_csv(folder / 'immse.csv')['phi'].isna().all()     # I-MMSE forms no posterior
    # The binary form never reaches 0 (the reference contains the class) and is skipped where undefined.
    assert pd.read_csv(folder / 'exact.csv').query("partition == '0-vs-reference'")['H'].min() > 0.1
    assert '0-vs-reference' not in set(pd.read_csv(folder / 'track-exact.csv')['partition'])


def test_trained_models_run_through_the_whole_method(run):
    """The models config/test.yaml trains, the digits (entropic.backends.digits) and gmm-net, a network trained on
    a mixture's samples (entropic.backends.gmm), through sampling, entropy, quality and windows."""
    models = run / 'results' / 'models'
    assert sorted(p.name for p in (models / 'digits' / 'trajectories' / 'unguided').iterdir()) == ['shard-0.npz', 'shard-1.npz']
    partitions = json.loads((models / 'digits' / 'partitions.json').read_text())
    assert {'classes', 'loops-vs-strokes', 'easy-pair-0-vs-1', 'hard-pair-3-vs-9', '9-vs-reference'} <= set(partitions)
    assert partitions['classes']['sigma_S'] == pytest.approx(1.34, abs=0.01)    # sqrt(Lambda - 1) of the digits in [-1, 1]
    curve = pd.read_csv(models / 'digits' / 'entropy' / 'unguided.csv')
    assert list(curve.columns) == CURVE_COLUMNS and set(curve['readout']) == {'entropy'}
    per_hypothesis = 220 // 11
    assert curve.query("partition == 'classes'")['n'].iloc[0] == 10 * per_hypothesis
    assert curve.query("partition == '3-vs-reference'")['n'].iloc[0] == 2 * per_hypothesis   # prior 1/2
    assert set(pd.read_csv(models / 'digits' / 'entropy' / 'cfg3.csv')['readout']) == {'cross-entropy'}
    # The exact reference of the training set: log 10 at high noise, 0 at low noise.
    reference = pd.read_csv(models / 'digits' / 'entropy' / 'empirical.csv').query("partition == 'classes'")
    assert reference['H'].iloc[-1] == pytest.approx(np.log(10), abs=0.01) and reference['H'].iloc[0] < 1e-6
    quality = pd.read_csv(run / 'results' / 'tables' / 'models_quality.csv').set_index(['model', 'run'])
    # 300 training steps of a small network: far from the default's 99.8%, far above chance (10%).
    assert quality.loc[('digits', 'unguided'), 'accuracy'] > 0.5
    assert quality.loc[('gmm-net', 'unguided'), 'accuracy'] > 0.5
    # gmm-net reads its unguided curve with the combined readout (estimate: combined); its shards keep distances.
    assert 'control variates of exact mean 0' in (run / 'results' / 'logs' / 'model_entropy' / 'gmm-net-unguided.log').read_text()
    assert np.load(models / 'gmm-net' / 'trajectories' / 'unguided' / 'shard-0.npz')['distances'].shape == (24, 100, 5, 5)
    windows = pd.read_csv(run / 'results' / 'tables' / 'models_windows.csv')
    assert set(windows['estimator']) == {'unguided', 'cfg3', 'cfg3-placed', 'empirical', 'exact', 'exact-denoiser'}
    log = (run / 'results' / 'logs' / 'model_trajectories' / 'digits-cfg3-placed-0.log').read_text()
    assert 'weighted by dH/dlog σ' in log       # guidance placed by the unguided run's rate
    assert (run / 'results' / 'tables' / 'digits_guidance.md').read_text().startswith('| variant')


def test_guidance_study_compares_every_method_on_the_same_samples(run):
    tables = run / 'results' / 'tables'
    studies = (('digits', 'models/digits', ['fd', 'accuracy', 'precision', 'recall', 'spread_ratio'], 200, 'fd'),
               ('gmm', 'gmm/k4-d1e3', ['accuracy', 'kl'], 400, 'kl'))
    for name, folder, metrics, samples, select in studies:
        table = pd.read_csv(tables / f'{name}_guidance_study.csv')
        assert table['method'].tolist() == ['unguided', 'cfg-2', 'cfg-3', 'interval-best', 'window', 'window-x2', 'rate']
        assert set(table['samples']) == {samples} and set(table['set']) == {'evaluation'}
        for m in metrics:
            assert np.all((table[f'{m}_lo'] <= table[m]) & (table[m] <= table[f'{m}_hi'])), m
        tuning = pd.read_csv(run / 'results' / folder / 'guidance_study' / 'tuning.csv')
        assert len(tuning) == 6                   # every pair of the 4 interval edges
        # the tuning set measures only what the interval search minimises
        assert [m for m in metrics if m in tuning.columns] == [select] and {f'{select}_lo', f'{select}_hi'} <= set(tuning)
        chosen = tuning.loc[tuning[select].idxmin()]
        best = table.query("method == 'interval-best'").iloc[0]
        assert (best['sigma_lo'], best['sigma_hi']) == (chosen['sigma_lo'], chosen['sigma_hi'])
        text = (tables / f'{name}_guidance_study.md').read_text()
        assert 'chosen on a separate tuning set' in text and 'Verdicts' in text


def test_peers_numbers_and_their_cloning_experiment(run):
    tables = run / 'results' / 'tables'
    # Every stored point of d = 256 within its tolerance (tests/test_peers.py derives it); d = 100 has none.
    stored = pd.read_csv(tables / 'gmm_clone_agreement.csv')
    assert len(stored) == 19 and set(stored['experiment']) == {'k2-d256'}
    assert np.all(stored['difference'].abs() <= stored['tolerance'])
    # phi = 0.775 reads t_S for two classes: phi(t_S) = 0.775 and t at phi = 0.775 within 0.01 of 1/2 log Lambda.
    windows = pd.read_csv(tables / 'gmm_windows.csv').query("experiment == 'k2-d256' and estimator == 'exact'").iloc[0]
    assert windows['phi_t_S'] == pytest.approx(0.775, abs=2e-3) and windows['t_phi'] == pytest.approx(windows['t_S'], abs=0.01)
    assert windows['t_phi_lo'] <= windows['t_phi'] <= windows['t_phi_hi']
    models = pd.read_csv(tables / 'models_windows.csv')
    assert models.query("estimator == 'unguided' and partition == 'classes'")['sigma_phi'].notna().all()
    # The cloning on the digits network at the two configured levels, against the tracker at the same levels.
    clones = pd.read_csv(tables / 'digits_clone_agreement.csv')
    assert len(clones) == 2 and set(clones['pairs']) == {60} and clones['sigma'].is_monotonic_decreasing
    assert clones['agreement'].between(0, 1).all() and clones['tracker_phi'].between(0.1, 1).all()
    np.testing.assert_allclose(clones['difference'], clones['agreement'] - clones['tracker_phi'])
    assert 'clone agreement' in (tables / 'digits_clone_agreement.md').read_text().splitlines()[0]
