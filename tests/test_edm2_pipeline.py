"""The EDM2 rule chain end to end on the CPU, as config/edm2-xs.yaml's user runs it (tests/test_shipped_configs.py:
tiny networks of the EDM2 architecture written as EDM2 pickles under the config's names, a tiny VAE, the FID and
DINOv2 feature networks and NVlabs-format reference statistics at their real paths, only the sizes made small):
sampling with tracking, entropy, window fits, the guidance study with FID and FD-DINOv2, figures and tables."""

import numpy as np
import pandas as pd
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.schedule(10)]

CLASSES = [207, 208, 250, 281, 282, 283, 291, 292, 404, 511, 817]     # config/partitions/imagenet.yaml
RUNS = {'unguided', 'unguided-fid', 'cfg1p4', 'cfg2', 'cfg4', 'cfg2-interval', 'cfg2-wide-interval', 'cfg2-window',
        'cfg2-rate'}


@pytest.fixture(scope='module')
def workdir(shipped_config_run):
    return shipped_config_run('edm2-xs')[0]


def test_edm2_curves_cover_the_imagenet_partitions_and_the_paper_binary_form(workdir):
    curve = pd.read_csv(workdir / 'results/models/edm2-xs/entropy/unguided.csv')
    partitions = set(curve['partition'])
    assert {'classes', 'dogs-vs-cats', 'animals-vs-artefacts', 'golden-vs-labrador', '207-vs-reference'} <= partitions
    assert (curve['readout'] == 'entropy').all()
    classes = curve.query("partition == 'classes'")
    assert classes['H'].max() <= np.log(11) + 1e-9 and classes['n'].iloc[0] == 11   # 1 per class in play
    binary = curve.query("partition == '207-vs-reference'")
    assert binary['n'].iloc[0] == 2                # 1 drawn as class 207 and 1 by the unconditional net
    assert np.isfinite(curve[['H', 'H_se', 'rate']].to_numpy()).all()
    guided = pd.read_csv(workdir / 'results/models/edm2-xs/entropy/cfg2.csv')
    assert (guided['readout'] == 'cross-entropy').all()


def test_edm2_shards_track_every_class_in_play_in_latent_shape(workdir):
    shard = np.load(workdir / 'results/models/edm2-xs/trajectories/unguided/shard-0.npz')
    assert shard['hypotheses'].tolist() == CLASSES + [-1]
    assert shard['x'].shape == (12, 4, 8, 8) and shard['denoised'].shape[1:] == (2, 4, 8, 8)
    assert int(shard['calls']) == 12 * 6 * 12       # 12 hypotheses, 6 steps, no extra call when unguided


def test_edm2_runs_sample_from_their_own_pickles(workdir):
    """unguided-fid samples the 0.135 EMA net against the same 0.045 unconditional one (the config's `net` of
    that run), every other run the 0.045 pair."""
    logs = workdir / 'results/logs/model_trajectories'
    assert 'edm2-img512-xs-2147483-0.135.pkl, resources/edm2/edm2-img512-xs-uncond-2147483-0.045.pkl' in \
        (logs / 'edm2-xs-unguided-fid-0.log').read_text()
    assert 'edm2-img512-xs-2147483-0.045.pkl, resources/edm2/edm2-img512-xs-uncond-2147483-0.045.pkl' in \
        (logs / 'edm2-xs-unguided-0.log').read_text()


def test_edm2_windows_have_no_theory_value(workdir):
    table = pd.read_csv(workdir / 'results/tables/models_windows.csv').query("model == 'edm2-xs'")
    assert set(table['estimator']) == RUNS
    log = (workdir / 'results/logs/model_trajectories/edm2-xs-cfg2-window-0.log').read_text()
    assert 'guidance w = 2 on σ ∈ (' in log      # guidance placed in the unguided run's window
    assert table['sigma_S'].isna().all() and np.isfinite(table['sigma_half']).all()


def test_edm2_guidance_study_measures_fid_and_fd_dinov2_of_decoded_images(workdir):
    table = pd.read_csv(workdir / 'results/tables/edm2-xs_guidance_study.csv')
    assert {'unguided', 'cfg-1.4', 'cfg-2', 'cfg-4', 'interval-best', 'window', 'rate'} <= set(table['method'])
    assert (table['samples'] == 44).all()          # 2 per class in play and fold, 2 folds
    for metric in ('fid', 'fd_dinov2', 'spread'):
        assert np.isfinite(table[[metric, f'{metric}_lo', f'{metric}_hi']].to_numpy()).all()
        assert (table[metric] > 0).all()
    # Guidance changes the images, so their features: the methods do not all measure the same.
    assert table['fd_dinov2'].nunique() > 1
    tuning = pd.read_csv(workdir / 'results/models/edm2-xs/guidance_study/tuning.csv')
    assert len(tuning) == 10              # every pair of the five edges
    # The interval search reads FD-DINOv2 alone: the tuning set measures nothing else (no FID, no Inception run).
    assert not {'fid', 'spread'} & set(tuning.columns) and np.isfinite(tuning['fd_dinov2']).all()
    log = (workdir / 'results/logs/guidance_study_samples/models-edm2-xs-evaluation.log').read_text()
    assert 'interval chosen on the tuning set by fd_dinov2' in log


def test_edm2_schedule_study_measures_fid_and_fd_dinov2_of_every_grid(workdir):
    """The schedule study runs on a downloaded model: its mmse measured on the unguided run's unconditional samples
    (one in the small run), every grid and setting sampled and measured by FID and FD-DINOv2 per seed."""
    frame = pd.read_csv(workdir / 'results/models/edm2-xs/schedules.csv')
    assert set(frame['metric']) == {'fid', 'fd_dinov2'}
    assert set(frame['schedule']) == {'edm', 'entropic', 'rescaled', 'semantic-0.5', 'semantic-1'}
    assert set(frame['name']) == {'edm2-xs, class-conditional', 'edm2-xs, unconditional'}
    assert set(frame['guidance']) == {1.0, 1.4} and set(frame['nfe']) == {3} and set(frame['seed'].value_counts()) == {30}
    assert np.isfinite(frame['value']).all() and (frame['value'] > 0).all()
    log = (workdir / 'results/logs/model_schedule_study/edm2-xs.log').read_text()
    assert 'measured mmse on the 1 unconditional final samples of run unguided' in log
