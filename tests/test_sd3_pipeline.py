"""The SD3 rule chain end to end on the CPU, as config/sd3-medium.yaml's user runs it (tests/test_shipped_configs.py:
a tiny pipeline built from configs (MMDiT transformer, VAE, CLIP-L, CLIP-G and T5 with tokenizers built in memory)
in the hub layout under resources/, only the sizes made small, the resolution that of the tiny networks):
sampling from pure noise on the scheduler's shifted grid with every prompt tracked, entropy, window fits,
figures, tables and decoded images."""

import numpy as np
import pandas as pd
import pytest

from entropic.theory import noise

STEPS = 6      # the size overlay's (tests/shipped_configs.py)


@pytest.fixture(scope='module')
def workdir(shipped_config_run):
    return shipped_config_run('sd3-medium')[0]


def test_sd3_curves_cover_the_prompt_partitions_on_the_finite_levels_of_the_shifted_grid(workdir):
    curve = pd.read_csv(workdir / 'results/models/sd3-medium/entropy/unguided.csv')
    assert {'classes', 'animals-vs-vehicles', 'red-vs-blue-car', 'husky-vs-wolf', '0-vs-reference',
            'dog-vs-reference'} <= set(curve['partition'])
    classes = curve.query("partition == 'classes'")
    assert classes['n'].iloc[0] == 8 and classes['H'].max() <= np.log(8) + 1e-9     # 1 per prompt
    # the grid's levels but its first, sigma = inf (t = 1: pure noise, the prior)
    sigmas = noise.FlowSchedule(shift=3.0).sigmas(dict(steps=STEPS))
    np.testing.assert_allclose(np.sort(classes['sigma'].to_numpy()), np.sort(sigmas[1:-1]), rtol=1e-9)  # CSV: 10 digits
    assert np.isfinite(curve[['sigma', 'H', 'H_se', 'rate']].to_numpy()).all()
    guided = pd.read_csv(workdir / 'results/models/sd3-medium/entropy/cfg7.csv')
    assert (guided['readout'] == 'cross-entropy').all()
    table = pd.read_csv(workdir / 'results/tables/models_windows.csv').query("model == 'sd3-medium'")
    assert set(table['estimator']) == {'unguided', 'cfg7', 'cfg7-window'} and table['sigma_S'].isna().all()


def test_sd3_shards_track_every_prompt_and_the_empty_prompt(workdir):
    shard = np.load(workdir / 'results/models/sd3-medium/trajectories/unguided/shard-0.npz')
    assert shard['hypotheses'].tolist() == list(range(8)) + [-1]
    assert shard['x'].shape == (9, 4, 8, 8) and shard['log_posterior'].shape == (STEPS - 1, 9, 9)
    assert int(shard['calls']) == 9 * STEPS * 9     # every hypothesis at every step, the first from pure noise too
    log = (workdir / 'results/logs/model_trajectories/sd3-medium-unguided-0.log').read_text()
    assert f'{STEPS} steps from sigma inf' in log
