"""The DiT rule chain end to end on the CPU, as config/dit-xl2-256.yaml's user runs it (tests/test_shipped_configs.py:
a tiny DiT pipeline built from configs (transformer of DiT's architecture with learned sigma, the hub's scheduler
config, an id2label in ImageNet order) and a tiny VAE in the hub layout under resources/, only the sizes made
small): sampling on the DDPM timesteps with every ImageNet class of the partition file tracked against the null
label, entropy, window fits, figures and tables, and the decoded images."""

import numpy as np
import pandas as pd
import pytest

from entropic.theory import noise

CLASSES = [207, 208, 250, 281, 282, 283, 291, 292, 404, 511, 817]     # config/partitions/imagenet.yaml


@pytest.fixture(scope='module')
def workdir(shipped_config_run):
    return shipped_config_run('dit-xl2-256')[0]


def test_dit_shards_track_every_class_in_play_and_the_null_label_on_the_ddpm_timesteps(workdir):
    shard = np.load(workdir / 'results/models/dit-xl2-256/trajectories/unguided/shard-0.npz')
    assert shard['hypotheses'].tolist() == CLASSES + [-1]
    assert shard['x'].shape == (12, 4, 8, 8) and shard['denoised'].shape[1:] == (2, 4, 8, 8)
    assert int(shard['calls']) == 12 * 6 * 12       # 12 hypotheses, 6 steps, no extra call when unguided
    # The levels are sigma_t of DDIM's leading timesteps of the linear schedule, 6 of 1000: 830, 664, ..., 0.
    schedule = noise.DDPMSchedule(noise.ddpm_alphas_cumprod(1000, 1e-4, 0.02, 'linear'), 'leading', 0)
    np.testing.assert_allclose(shard['sigma'], schedule.all_sigmas[[0, 166, 332, 498, 664, 830]], rtol=1e-12)


def test_dit_curves_cover_the_imagenet_partitions_and_the_binary_form(workdir):
    curve = pd.read_csv(workdir / 'results/models/dit-xl2-256/entropy/unguided.csv')
    assert {'classes', 'dogs-vs-cats', 'animals-vs-artefacts', 'golden-vs-labrador', '207-vs-reference'} <= set(curve['partition'])
    assert (curve['readout'] == 'entropy').all() and np.isfinite(curve[['H', 'H_se', 'rate']].to_numpy()).all()
    classes = curve.query("partition == 'classes'")
    assert classes['n'].iloc[0] == 11 and classes['H'].max() <= np.log(11) + 1e-9      # 1 per class in play
    guided = pd.read_csv(workdir / 'results/models/dit-xl2-256/entropy/cfg4.csv')
    assert (guided['readout'] == 'cross-entropy').all()
    table = pd.read_csv(workdir / 'results/tables/models_windows.csv').query("model == 'dit-xl2-256'")
    assert set(table['estimator']) == {'unguided', 'cfg1p5', 'cfg4', 'cfg4-window'} and table['sigma_S'].isna().all()


def test_dit_images_are_decoded_by_the_vae(workdir):
    images = np.load(workdir / 'results/models/dit-xl2-256/images.npz')
    decoded = [images[key] for key in images.files if images[key].dtype == np.uint8]
    assert decoded and all(a.shape[-3:] == (16, 16, 3) for a in decoded)   # 8x8 latents, the tiny VAE upsamples 2x
