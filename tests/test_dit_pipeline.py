"""The DiT rule chain end to end on the CPU: a tiny DiT pipeline built from configs (transformer of DiT's
architecture with learned sigma, the hub's scheduler config, an id2label in ImageNet order) and a tiny VAE, in
the hub layout under resources/, so that the download rule is skipped; then sharded sampling on the DDPM
timesteps with every ImageNet class of the partition file tracked against the null label, entropy, window fits,
figures and tables, and the decoded images, run by Snakemake."""

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from entropic import noise

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.path.dirname(__file__))
from dit_tiny import build_tiny_resources  # noqa: E402
from pretrained_chain import check_outputs, run_chain  # noqa: E402

CONFIG = {'models': {'dit-tiny': {
    'backend': 'dit', 'partitions': 'config/partitions/imagenet.yaml', 'sampler': {'steps': 5}, 'trajectories': 24,
    'shards': 2, 'batch': 16, 'snapshots': 2, 'bootstrap': 20,
    'runs': {'unguided': {}, 'cfg4': {'guidance': 4.0, 'trajectories': 12}},
}}}
TARGETS = ['results/figures/dit-tiny_entropy.png', 'results/figures/dit-tiny_guidance.png',
           'results/figures/dit-tiny_images.png', 'results/tables/models_windows.csv']
CLASSES = [207, 208, 250, 281, 282, 283, 291, 292, 404, 511, 817]     # config/partitions/imagenet.yaml


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    workdir = build_tiny_resources(tmp_path_factory.mktemp('dit-pipeline'))
    result, before = run_chain(workdir, CONFIG, TARGETS)
    return workdir, result, before


def test_dit_chain_runs_without_downloading_present_files(run):
    workdir, result, before = run
    check_outputs(workdir, result, before, TARGETS, ['rule download:'])


def test_dit_shards_track_every_class_in_play_and_the_null_label_on_the_ddpm_timesteps(run):
    workdir, _, _ = run
    shard = np.load(workdir / 'results/models/dit-tiny/trajectories/unguided/shard-0.npz')
    assert shard['hypotheses'].tolist() == CLASSES + [-1]
    assert shard['x'].shape == (12, 4, 8, 8) and shard['denoised'].shape[1:] == (2, 4, 8, 8)
    assert int(shard['calls']) == 12 * 5 * 12       # 12 hypotheses, 5 steps, no extra call when unguided
    # The levels are sigma_t of DDIM's leading timesteps of the linear schedule, 5 of 1000: 800, 600, ..., 0.
    schedule = noise.DDPMSchedule(noise.ddpm_alphas_cumprod(1000, 1e-4, 0.02, 'linear'), 'leading', 0)
    np.testing.assert_allclose(shard['sigma'], schedule.all_sigmas[[0, 200, 400, 600, 800]], rtol=1e-12)


def test_dit_curves_cover_the_imagenet_partitions_and_the_binary_form(run):
    workdir, _, _ = run
    curve = pd.read_csv(workdir / 'results/models/dit-tiny/entropy/unguided.csv')
    assert {'classes', 'dogs-vs-cats', 'animals-vs-artefacts', 'golden-vs-labrador', '207-vs-reference'} <= set(curve['partition'])
    assert (curve['readout'] == 'entropy').all() and np.isfinite(curve[['H', 'H_se', 'rate']].to_numpy()).all()
    classes = curve.query("partition == 'classes'")
    assert classes['n'].iloc[0] == 22 and classes['H'].max() <= np.log(11) + 1e-9      # 2 per class in play
    guided = pd.read_csv(workdir / 'results/models/dit-tiny/entropy/cfg4.csv')
    assert (guided['readout'] == 'cross-entropy').all()
    table = pd.read_csv(workdir / 'results/tables/models_windows.csv').query("model == 'dit-tiny'")
    assert set(table['estimator']) == {'unguided', 'cfg4'} and table['sigma_S'].isna().all()


def test_dit_images_are_decoded_by_the_vae(run):
    workdir, _, _ = run
    images = np.load(workdir / 'results/models/dit-tiny/images.npz')
    decoded = [images[key] for key in images.files if images[key].dtype == np.uint8]
    assert decoded and all(a.shape[-3:] == (16, 16, 3) for a in decoded)   # 8x8 latents, the tiny VAE upsamples 2x
