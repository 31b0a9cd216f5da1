"""The SD1.5 rule chain end to end on the CPU: a tiny pipeline built from configs (UNet, VAE, CLIP text model,
a tokenizer built in memory) in the hub layout under resources/, so that the download rule is skipped; then
sampling on SD's own timesteps with every prompt tracked, entropy, window fits, figures and tables, and the
guidance study with FID and FD-DINOv2 against reference statistics that rule reference_statistics builds
from a folder of images (the feature networks in their real formats, random weights)."""

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from entropic.models import sd15

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.path.dirname(__file__))
from pretrained_chain import check_outputs, run_chain  # noqa: E402
from sd15_tiny import build_tiny_pipeline  # noqa: E402
import feature_synthetic  # noqa: E402

CONFIG = {'models': {'sd15-tiny': {
    'backend': 'sd15', 'prompts': 'config/prompts/sd15.yaml', 'sampler': {'steps': 10}, 'trajectories': 36,
    'shards': 2, 'batch': 16, 'snapshots': 2, 'bootstrap': 30,
    'runs': {'unguided': {}, 'cfg7p5': {'guidance': 7.5, 'trajectories': 18},
             'cfg7p5-early': {'guidance': 7.5, 'guidance_interval': [1.62, 15.0], 'trajectories': 18}},
    'guidance_study': {'samples': 32, 'folds': 2, 'scale': 7.5, 'scales': [7.5], 'interval_edges': [0.5, 15.0],
                       'statistics': 'resources/reference/photos.npz'},
}}}
TARGETS = ['results/figures/sd15-tiny_entropy.png', 'results/figures/sd15-tiny_guidance.png',
           'results/figures/sd15-tiny_images.png', 'results/tables/models_windows.csv',
           'results/figures/sd15-tiny_guidance_study.png']


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp('sd15-pipeline')
    build_tiny_pipeline(workdir / 'resources' / 'stable-diffusion-v1-5')
    feature_synthetic.write_inception(workdir / 'resources' / 'fid')
    feature_synthetic.write_dinov2(workdir / 'resources' / 'dinov2-large')
    photos = workdir / 'resources' / 'reference' / 'photos'
    photos.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(6):     # "real images" of two sizes: the rule batches them by size
        size = (24, 24) if i < 4 else (20, 28)
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(photos / f'{i}.png')
    result, before = run_chain(workdir, CONFIG, TARGETS)
    return workdir, result, before


def test_sd15_chain_runs_without_downloading_present_files(run):
    workdir, result, before = run
    check_outputs(workdir, result, before, TARGETS, ['rule download:'])


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


def test_sd15_guidance_study_is_measured_against_statistics_built_from_images(run):
    workdir, _, _ = run
    stats = np.load(workdir / 'resources/reference/photos.npz')
    assert int(stats['num_images']) == 6 and stats['fid/sigma'].shape == (2048, 2048)
    assert stats['fd_dinov2/mu'].shape == (feature_synthetic.DINOV2_HIDDEN,)
    table = pd.read_csv(workdir / 'results/tables/sd15-tiny_guidance_study.csv')
    assert set(table['method']) == {'unguided', 'cfg-7.5', 'interval-best', 'window', 'window-x2', 'rate'}
    assert np.isfinite(table[['fid', 'fd_dinov2', 'spread']].to_numpy()).all() and (table['samples'] == 32).all()
