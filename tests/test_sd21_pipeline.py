"""The SD2.1 rule chains end to end on the CPU, as the users of config/sd21.yaml (768 px v-prediction) and
config/sd21-base.yaml (512 px epsilon) run them (tests/test_shipped_configs.py: tiny pipelines of SD2's
architecture with each model's scheduler config (tests/sd21_tiny.py) in the hub layout where the download rule
puts each repository, only the sizes made small): sampling on the scheduler's timesteps with every prompt
tracked, entropy, window fits, figures, tables and decoded images."""

import numpy as np
import pandas as pd
import pytest

from entropic.theory import noise
from entropic.networks import diffusers_folder
from sd21_tiny import SCHEDULERS

RUNS = {'unguided', 'cfg3', 'cfg7p5', 'cfg7p5-early', 'cfg7p5-late', 'cfg7p5-window'}


@pytest.mark.parametrize('model, variant', [('sd21', 'v'), ('sd21-base', 'base')])
def test_sd21_curves_sit_on_the_scheduler_timesteps_and_track_every_prompt(shipped_config_run, model, variant):
    workdir = shipped_config_run(model)[0]
    curve = pd.read_csv(workdir / f'results/models/{model}/entropy/unguided.csv')
    assert {'classes', 'animals-vs-vehicles', 'dog-vs-reference'} <= set(curve['partition'])
    classes = curve.query("partition == 'classes'")
    assert classes['n'].iloc[0] == 8 and classes['H'].max() <= np.log(8) + 1e-9     # 1 per prompt
    # SD2.1's scheduler configs (DDIM, and the base model's PNDM read as DDIM): leading spacing, offset 1
    # (6 steps: 834, 667, ..., 1), scaled-linear betas.
    config = SCHEDULERS[variant]
    abar = diffusers_folder.alphas_cumprod(config)
    sigmas = noise.DDPMSchedule(abar, 'leading', config['steps_offset']).sigmas({'steps': 6})[:-1]
    np.testing.assert_allclose(np.sort(classes['sigma'].to_numpy()), np.sort(sigmas), rtol=1e-9)
    assert np.isfinite(curve[['H', 'H_se', 'rate']].to_numpy()).all()
    guided = pd.read_csv(workdir / f'results/models/{model}/entropy/cfg7p5.csv')
    assert (guided['readout'] == 'cross-entropy').all()
    shard = np.load(workdir / f'results/models/{model}/trajectories/unguided/shard-0.npz')
    assert shard['hypotheses'].tolist() == list(range(8)) + [-1]
    assert shard['x'].shape == (9, 4, 8, 8) and int(shard['calls']) == 9 * 6 * 9
    table = pd.read_csv(workdir / 'results/tables/models_windows.csv').query(f"model == '{model}'")
    assert set(table['estimator']) == RUNS
