"""The SD3 rule chain end to end on the CPU: a tiny pipeline built from configs (MMDiT transformer, VAE, CLIP-L,
CLIP-G and T5 with tokenizers built in memory) in the hub layout under resources/, so that the download rule is
skipped; then sampling from pure noise on the scheduler's shifted grid with every prompt tracked, in two shards,
entropy, window fits, figures, tables and decoded images."""

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from entropic import noise

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.path.dirname(__file__))
from pretrained_chain import check_outputs, run_chain  # noqa: E402
from sd3_tiny import build_tiny_pipeline  # noqa: E402

STEPS = 5
CONFIG = {'models': {'sd3-tiny': {
    'backend': 'sd3', 'prompts': 'config/prompts/sd15.yaml', 'sampler': {'steps': STEPS}, 'resolution': 16,
    'trajectories': 18, 'shards': 2, 'batch': 32, 'snapshots': 2, 'bootstrap': 20,
    'runs': {'unguided': {}, 'cfg7': {'guidance': 7.0, 'trajectories': 9},
             'cfg7-late': {'guidance': 7.0, 'guidance_interval': [0.005, 1.0], 'trajectories': 9}},
}}}
TARGETS = ['results/figures/sd3-tiny_entropy.png', 'results/figures/sd3-tiny_guidance.png',
           'results/figures/sd3-tiny_images.png', 'results/tables/models_windows.csv']


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp('sd3-pipeline')
    build_tiny_pipeline(workdir / 'resources' / 'stable-diffusion-3-medium-diffusers')
    result, before = run_chain(workdir, CONFIG, TARGETS)
    return workdir, result, before


def test_sd3_chain_runs_without_downloading_present_files(run):
    workdir, result, before = run
    check_outputs(workdir, result, before, TARGETS, ['rule download:'])


def test_sd3_curves_cover_the_prompt_partitions_on_the_finite_levels_of_the_shifted_grid(run):
    workdir, _, _ = run
    curve = pd.read_csv(workdir / 'results/models/sd3-tiny/entropy/unguided.csv')
    assert {'classes', 'animals-vs-vehicles', 'red-vs-blue-car', 'husky-vs-wolf', '0-vs-reference',
            'dog-vs-reference'} <= set(curve['partition'])
    classes = curve.query("partition == 'classes'")
    assert classes['n'].iloc[0] == 16 and classes['H'].max() <= np.log(8) + 1e-9     # 2 per prompt
    # the grid's levels but its first, sigma = inf (t = 1: pure noise, the prior)
    sigmas = noise.FlowSchedule(shift=3.0).sigmas(dict(steps=STEPS))
    np.testing.assert_allclose(np.sort(classes['sigma'].to_numpy()), np.sort(sigmas[1:-1]), rtol=1e-9)  # CSV: 10 digits
    assert np.isfinite(curve[['sigma', 'H', 'H_se', 'rate']].to_numpy()).all()
    guided = pd.read_csv(workdir / 'results/models/sd3-tiny/entropy/cfg7.csv')
    assert (guided['readout'] == 'cross-entropy').all()
    table = pd.read_csv(workdir / 'results/tables/models_windows.csv').query("model == 'sd3-tiny'")
    assert set(table['estimator']) == {'unguided', 'cfg7', 'cfg7-late'} and table['sigma_S'].isna().all()


def test_sd3_shards_track_every_prompt_and_the_empty_prompt(run):
    workdir, _, _ = run
    shard = np.load(workdir / 'results/models/sd3-tiny/trajectories/unguided/shard-0.npz')
    assert shard['hypotheses'].tolist() == list(range(8)) + [-1]
    assert shard['x'].shape == (9, 4, 8, 8) and shard['log_posterior'].shape == (STEPS - 1, 9, 9)
    assert int(shard['calls']) == 9 * STEPS * 9     # every hypothesis at every step, the first from pure noise too
    log = (workdir / 'results/logs/model_trajectories/sd3-tiny-unguided-0.log').read_text()
    assert f'{STEPS} steps from sigma inf' in log
