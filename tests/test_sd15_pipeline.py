"""The SD1.5 rule chain end to end on the CPU, as the user of config/sd15.yaml with its config/sd15-study.yaml
overlay runs it (tests/test_shipped_configs.py: a tiny pipeline built from configs in the hub layout under
resources/stable-diffusion-v1-5, the feature networks in their real formats and a folder of "real images" that
rule reference_statistics turns into the study's statistics; only the sizes made small): sampling on SD's own
timesteps with every prompt tracked, entropy, window fits, figures and tables, and the guidance study with FID
and FD-DINOv2."""

import numpy as np
import pandas as pd
import pytest

import feature_synthetic
from entropic.theory import noise


@pytest.fixture(scope='module')
def workdir(shipped_config_run):
    return shipped_config_run('sd15-study')[0]


def test_sd15_curves_cover_the_prompt_partitions_on_the_ddpm_timesteps(workdir):
    curve = pd.read_csv(workdir / 'results/models/sd15/entropy/unguided.csv')
    assert {'classes', 'animals-vs-vehicles', 'red-vs-blue-car', 'husky-vs-wolf', '0-vs-reference',
            'dog-vs-reference'} <= set(curve['partition'])
    classes = curve.query("partition == 'classes'")
    assert classes['n'].iloc[0] == 8 and classes['H'].max() <= np.log(8) + 1e-9     # 1 per prompt
    sd15 = noise.DDPMSchedule(noise.ddpm_alphas_cumprod(1000, 0.00085, 0.012, 'scaled_linear'), 'leading', 1)
    sigmas = np.sort(sd15.sigmas({'steps': 6})[:-1])       # SD1.5's scheduler config: leading spacing, offset 1
    np.testing.assert_allclose(np.sort(classes['sigma'].to_numpy()), sigmas, rtol=1e-9)
    assert np.isfinite(curve[['H', 'H_se', 'rate']].to_numpy()).all()
    guided = pd.read_csv(workdir / 'results/models/sd15/entropy/cfg7p5.csv')
    assert (guided['readout'] == 'cross-entropy').all()


def test_sd15_shards_track_every_prompt_and_the_empty_prompt(workdir):
    shard = np.load(workdir / 'results/models/sd15/trajectories/unguided/shard-0.npz')
    assert shard['hypotheses'].tolist() == list(range(8)) + [-1]
    assert shard['x'].shape == (9, 4, 8, 8)
    assert int(shard['calls']) == 9 * 6 * 9
    table = pd.read_csv(workdir / 'results/tables/models_windows.csv').query("model == 'sd15'")
    assert set(table['estimator']) == {'unguided', 'cfg3', 'cfg7p5', 'cfg7p5-early', 'cfg7p5-late', 'cfg7p5-window'}
    assert table['sigma_S'].isna().all()


def test_sd15_guidance_study_is_measured_against_statistics_built_from_images(workdir):
    stats = np.load(workdir / 'resources/reference/sd15-prompts.npz')
    assert int(stats['num_images']) == 6 and stats['fid/sigma'].shape == (2048, 2048)
    assert stats['fd_dinov2/mu'].shape == (feature_synthetic.DINOV2_HIDDEN,)
    table = pd.read_csv(workdir / 'results/tables/sd15_guidance_study.csv')
    assert {'unguided', 'cfg-3', 'cfg-7.5', 'interval-best', 'window', 'rate'} <= set(table['method'])
    assert np.isfinite(table[['fid', 'fd_dinov2', 'spread']].to_numpy()).all() and (table['samples'] == 32).all()
