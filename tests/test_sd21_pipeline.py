"""The SD2.1 rule chain end to end on the CPU: a tiny v-prediction pipeline of SD2's architecture built from
configs (tests/sd21_tiny.py) in the hub layout under resources/, so that the download rule is skipped; then
sharded sampling on its scheduler's timesteps with every prompt tracked, entropy, window fits, figures, tables
and decoded images."""

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from entropic import noise
from entropic.models import sd15

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.path.dirname(__file__))
from pretrained_chain import check_outputs, run_chain  # noqa: E402
from sd21_tiny import SCHEDULERS, build_tiny_pipeline  # noqa: E402

CONFIG = {'models': {'sd21-tiny': {
    'backend': 'sd21', 'prompts': 'config/prompts/sd15.yaml', 'sampler': {'steps': 6}, 'trajectories': 36,
    'shards': 2, 'batch': 16, 'snapshots': 2, 'bootstrap': 30,
    'runs': {'unguided': {}, 'cfg7p5': {'guidance': 7.5, 'trajectories': 18}},
}}}
TARGETS = ['results/figures/sd21-tiny_entropy.png', 'results/figures/sd21-tiny_guidance.png',
           'results/figures/sd21-tiny_images.png', 'results/tables/models_windows.csv']


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp('sd21-pipeline')
    build_tiny_pipeline(workdir / 'resources' / 'stable-diffusion-2-1', 'v')
    result, before = run_chain(workdir, CONFIG, TARGETS)
    return workdir, result, before


def test_sd21_chain_runs_without_downloading_present_files(run):
    workdir, result, before = run
    check_outputs(workdir, result, before, TARGETS, ['rule download:'])


def test_sd21_curves_sit_on_the_scheduler_timesteps_and_track_every_prompt(run):
    workdir, _, _ = run
    curve = pd.read_csv(workdir / 'results/models/sd21-tiny/entropy/unguided.csv')
    assert {'classes', 'animals-vs-vehicles', 'dog-vs-reference'} <= set(curve['partition'])
    classes = curve.query("partition == 'classes'")
    assert classes['n'].iloc[0] == 32 and classes['H'].max() <= np.log(8) + 1e-9     # 4 per prompt
    # SD2.1's DDIM config: leading spacing, offset 1 (6 steps: 834, 667, ..., 1), scaled-linear betas.
    config = SCHEDULERS['v']
    abar = sd15.ddpm_schedule({**config, 'rescale_betas_zero_snr': False})
    sigmas = noise.DDPMSchedule(abar, 'leading', config['steps_offset']).sigmas({'steps': 6})[:-1]
    np.testing.assert_allclose(np.sort(classes['sigma'].to_numpy()), np.sort(sigmas), rtol=1e-9)
    assert np.isfinite(curve[['H', 'H_se', 'rate']].to_numpy()).all()
    guided = pd.read_csv(workdir / 'results/models/sd21-tiny/entropy/cfg7p5.csv')
    assert (guided['readout'] == 'cross-entropy').all()
    shard = np.load(workdir / 'results/models/sd21-tiny/trajectories/unguided/shard-1.npz')
    assert shard['hypotheses'].tolist() == list(range(8)) + [-1]
    assert shard['x'].shape == (18, 4, 8, 8) and int(shard['calls']) == 18 * 6 * 9
    table = pd.read_csv(workdir / 'results/tables/models_windows.csv').query("model == 'sd21-tiny'")
    assert set(table['estimator']) == {'unguided', 'cfg7p5'}
