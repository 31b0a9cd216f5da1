"""The EDM2 rule chain end to end on the CPU: tiny networks of the EDM2 architecture written as EDM2 pickles
under their real names, a tiny VAE, and the FID and DINOv2 feature networks with reference statistics in
their real formats, placed in resources/ so that the download rules are skipped; then sampling with
tracking, entropy, window fits, the guidance study with FID and FD-DINOv2, figures and tables, run by
Snakemake."""

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.path.dirname(__file__))
import edm2_synthetic as synthetic  # noqa: E402
import feature_synthetic  # noqa: E402
from pretrained_chain import check_outputs, run_chain  # noqa: E402

NET, GNET = 'edm2-img512-xs-2147483-0.045.pkl', 'edm2-img512-xs-uncond-2147483-0.045.pkl'
CONFIG = {'models': {'edm2-tiny': {
    'backend': 'edm2', 'net': NET, 'gnet': GNET, 'partitions': 'config/partitions/imagenet.yaml',
    'sampler': {'steps': 12}, 'trajectories': 48, 'shards': 2, 'batch': 16, 'snapshots': 2, 'bootstrap': 30,
    'runs': {'unguided': {}, 'cfg2': {'guidance': 2.0, 'trajectories': 24},
             'cfg2-interval': {'guidance': 2.0, 'guidance_interval': [0.3, 5.0], 'trajectories': 24},
             'cfg2-window': {'guidance': 2.0, 'guidance_placement': {'source': 'unguided'}, 'trajectories': 24}},
    'guidance_study': {'samples': 44, 'folds': 2, 'scale': 2.0, 'scales': [2.0], 'interval_edges': [0.5, 5.0, 80.0],
                       'statistics': 'resources/dataset-refs/img512.pkl'},
}}}
TARGETS = ['results/figures/edm2-tiny_entropy.png', 'results/figures/edm2-tiny_guidance.png',
           'results/figures/edm2-tiny_images.png', 'results/tables/models_windows.csv',
           'results/figures/edm2-tiny_guidance_study.png']
DOWNLOADS = ['rule download:']


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp('edm2-pipeline')
    (workdir / 'resources' / 'edm2').mkdir(parents=True)
    for name, label_dim, seed in ((NET, 1000, 0), (GNET, 0, 1)):
        synthetic.write_edm2_pickle(workdir / 'resources' / 'edm2' / name, synthetic.tiny_network(label_dim, seed),
                                    synthetic.tiny_kwargs(label_dim))
    synthetic.write_tiny_vae(workdir / 'resources' / 'sd-vae-ft-mse')
    feature_synthetic.write_feature_resources(workdir / 'resources')
    result, before = run_chain(workdir, CONFIG, TARGETS)
    return workdir, result, before


def test_edm2_chain_runs_without_downloading_present_files(run):
    workdir, result, before = run
    check_outputs(workdir, result, before, TARGETS, DOWNLOADS)


def test_edm2_curves_cover_the_imagenet_partitions_and_the_paper_binary_form(run):
    workdir, _, _ = run
    curve = pd.read_csv(workdir / 'results/models/edm2-tiny/entropy/unguided.csv')
    partitions = set(curve['partition'])
    assert {'classes', 'dogs-vs-cats', 'animals-vs-artefacts', 'golden-vs-labrador', '207-vs-reference'} <= partitions
    assert (curve['readout'] == 'entropy').all()
    classes = curve.query("partition == 'classes'")
    assert classes['H'].max() <= np.log(11) + 1e-9 and classes['n'].iloc[0] == 44   # 4 per class in play
    binary = curve.query("partition == '207-vs-reference'")
    assert binary['n'].iloc[0] == 8                # 4 drawn as class 207 and 4 by the unconditional net
    assert np.isfinite(curve[['H', 'H_se', 'rate']].to_numpy()).all()
    guided = pd.read_csv(workdir / 'results/models/edm2-tiny/entropy/cfg2.csv')
    assert (guided['readout'] == 'cross-entropy').all()


def test_edm2_shards_track_every_class_in_play_in_latent_shape(run):
    workdir, _, _ = run
    shard = np.load(workdir / 'results/models/edm2-tiny/trajectories/unguided/shard-0.npz')
    assert shard['hypotheses'].tolist() == [207, 208, 250, 281, 282, 283, 291, 292, 404, 511, 817, -1]
    assert shard['x'].shape == (24, 4, 8, 8) and shard['denoised'].shape[1:] == (2, 4, 8, 8)
    assert int(shard['calls']) == 24 * 12 * 12      # 12 hypotheses, 12 steps, no extra call when unguided


def test_edm2_windows_have_no_theory_value(run):
    workdir, _, _ = run
    table = pd.read_csv(workdir / 'results/tables/models_windows.csv').query("model == 'edm2-tiny'")
    assert set(table['estimator']) == {'unguided', 'cfg2', 'cfg2-interval', 'cfg2-window'}
    log = (workdir / 'results/logs/model_trajectories/edm2-tiny-cfg2-window-0.log').read_text()
    assert 'guidance w = 2 on σ ∈ (' in log      # guidance placed in the unguided run's window
    assert table['sigma_S'].isna().all() and np.isfinite(table['sigma_half']).all()


def test_edm2_guidance_study_measures_fid_and_fd_dinov2_of_decoded_images(run):
    workdir, _, _ = run
    table = pd.read_csv(workdir / 'results/tables/edm2-tiny_guidance_study.csv')
    assert set(table['method']) == {'unguided', 'cfg-2', 'interval-best', 'window', 'window-x2', 'rate'}
    assert (table['samples'] == 44).all()
    for metric in ('fid', 'fd_dinov2', 'spread'):
        assert np.isfinite(table[[metric, f'{metric}_lo', f'{metric}_hi']].to_numpy()).all()
        assert (table[metric] > 0).all()
    # Guidance changes the images, so their features: the methods do not all measure the same.
    assert table['fd_dinov2'].nunique() > 1
    tuning = pd.read_csv(workdir / 'results/models/edm2-tiny/guidance_study/tuning.csv')
    assert len(tuning) == 3               # every pair of the three edges
    log = (workdir / 'results/logs/guidance_study_samples/models-edm2-tiny-evaluation.log').read_text()
    assert 'interval chosen on the tuning set by fd_dinov2' in log
