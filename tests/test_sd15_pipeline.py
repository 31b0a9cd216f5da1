"""The SD1.5 rule chain end to end on the CPU: a tiny pipeline built from configs (UNet, VAE, CLIP text model,
a tokenizer built in memory) in the hub layout under resources/, so that the download rule is skipped; then
sampling on SD's own timesteps with every prompt tracked, entropy, window fits, figures and tables."""

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from entropic.models import sd15

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.path.dirname(__file__))
from pretrained_chain import check_outputs, run_chain  # noqa: E402
from sd15_tiny import build_tiny_pipeline  # noqa: E402

CONFIG = {'models': {'sd15-tiny': {
    'backend': 'sd15', 'prompts': 'config/prompts/sd15.yaml', 'sampler': {'steps': 10}, 'trajectories': 36,
    'shards': 2, 'batch': 16, 'snapshots': 2, 'bootstrap': 30,
    'runs': {'unguided': {}, 'cfg7p5': {'guidance': 7.5, 'trajectories': 18},
             'cfg7p5-early': {'guidance': 7.5, 'guidance_interval': [1.62, 15.0], 'trajectories': 18}},
}}}
TARGETS = ['results/figures/sd15-tiny_entropy.png', 'results/figures/sd15-tiny_guidance.png',
           'results/figures/sd15-tiny_images.png', 'results/tables/models_windows.csv']


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp('sd15-pipeline')
    build_tiny_pipeline(workdir / 'resources' / 'stable-diffusion-v1-5')
    result, before = run_chain(workdir, CONFIG, TARGETS)
    return workdir, result, before


def test_sd15_chain_runs_without_downloading_present_files(run):
    workdir, result, before = run
    check_outputs(workdir, result, before, TARGETS, ['download_sd15'])


def test_sd15_curves_cover_the_prompt_partitions_on_the_ddpm_timesteps(run):
    workdir, _, _ = run
    curve = pd.read_csv(workdir / 'results/models/sd15-tiny/entropy/unguided.csv')
    assert {'classes', 'animals-vs-vehicles', 'red-vs-blue-car', 'husky-vs-wolf', '0-vs-reference',
            'dog-vs-reference'} <= set(curve['partition'])
    classes = curve.query("partition == 'classes'")
    assert classes['n'].iloc[0] == 32 and classes['H'].max() <= np.log(8) + 1e-9     # 4 per prompt
    sigmas = np.sort(sd15.sampler_sigmas(10, sd15.alphas_cumprod())[:-1])
    np.testing.assert_allclose(np.sort(classes['sigma'].to_numpy()), sigmas, rtol=1e-9)
    assert np.isfinite(curve[['H', 'H_se', 'rate']].to_numpy()).all()
    guided = pd.read_csv(workdir / 'results/models/sd15-tiny/entropy/cfg7p5.csv')
    assert (guided['readout'] == 'cross-entropy').all()


def test_sd15_shards_track_every_prompt_and_the_empty_prompt(run):
    workdir, _, _ = run
    shard = np.load(workdir / 'results/models/sd15-tiny/trajectories/unguided/shard-0.npz')
    assert shard['hypotheses'].tolist() == list(range(8)) + [-1]
    assert shard['x'].shape == (18, 4, 8, 8)
    assert int(shard['calls']) == 18 * 10 * 9
    table = pd.read_csv(workdir / 'results/tables/models_windows.csv').query("model == 'sd15-tiny'")
    assert set(table['estimator']) == {'unguided', 'cfg7p5', 'cfg7p5-early'} and table['sigma_S'].isna().all()
