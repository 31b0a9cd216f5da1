"""The rule chains of the pretrained model families end to end on the CPU, as the users of the shipped configs run
them (tests/test_shipped_configs.py: tiny networks of each family's real architecture, random weights, in the real
formats at the real paths under resources/, only the sizes made small by tests/support/shipped_configs.py's size
overlay: one trajectory per hypothesis, one shard, 6 sampler steps, resolution 16):

- dit-xl2-256: a DiT pipeline (transformer with learned sigma, the hub's scheduler config, an id2label in ImageNet
  order) and a VAE, sampling on the DDPM timesteps against the null label;
- edm2-xs: EDM2 pickles under the config's names, a VAE, FID and DINOv2 feature networks and NVlabs-format
  reference statistics; the guidance and schedule studies with FID and FD-DINOv2;
- sd15 with its sd15-study overlay: SD1.5 in the hub layout and a folder of "real images" that rule
  reference_statistics turns into the study's statistics;
- sd21 (768 px v-prediction) and sd21-base (512 px epsilon): SD2's architecture with each model's scheduler config;
- sd3-medium: MMDiT, VAE, CLIP-L, CLIP-G and T5, sampling from pure noise on the scheduler's shifted grid.

The tests every family passes are parametrised over FAMILIES (what each one's run must show); a family's own
tests follow, named after it.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from entropic.theory import noise
from entropic.networks import diffusers_folder
from tests.support import feature_synthetic
from tests.support.sd21_tiny import SCHEDULERS

# Read only: the runs are made (and checked complete) by test_shipped_configs.py, order 1, each test alone.
pytestmark = [pytest.mark.slow, pytest.mark.schedule(10, unit='test')]

STEPS = 6                                                           # the size overlay's sampler steps
IMAGENET = [207, 208, 250, 281, 282, 283, 291, 292, 404, 511, 817]  # config/partitions/imagenet.yaml
PROMPTS = list(range(8))                                            # config/prompts/*.yaml: 8 prompts
PROMPT_PARTITIONS = {'classes', 'animals-vs-vehicles', 'red-vs-blue-car', 'husky-vs-wolf', '0-vs-reference',
                     'dog-vs-reference'}
IMAGENET_PARTITIONS = {'classes', 'dogs-vs-cats', 'animals-vs-artefacts', 'golden-vs-labrador', '207-vs-reference'}
SD_RUNS = {'unguided', 'cfg3', 'cfg7p5', 'cfg7p5-early', 'cfg7p5-late', 'cfg7p5-window'}


def ddpm_levels(abar, offset):
    """The noise levels of the 6 DDIM steps, leading spacing with `offset`, on a DDPM schedule of cumulative alphas
    `abar`, the final sigma = 0 left out: what a curve holds (sorted)."""
    return np.sort(noise.DDPMSchedule(abar, 'leading', offset).sigmas({'steps': STEPS})[:-1])


def sd21_levels(variant):
    """SD2.1's scheduler configs (DDIM, and the base model's PNDM read as DDIM): leading spacing, offset 1 (6 steps:
    834, 667, ..., 1), scaled-linear betas (tests/support/sd21_tiny.py)."""
    config = SCHEDULERS[variant]
    return ddpm_levels(diffusers_folder.alphas_cumprod(config), config['steps_offset'])


@dataclass(frozen=True)
class Family:
    """What the run of one shipped config shows of its model `model`: the unguided curve's partitions (at least),
    the hypotheses its shards track in order (those in play, then the reference -1), a guided run (read out as
    cross-entropy), every run in the windows table, the shards' latent shape, and where the tests pin them the
    noise levels of the curve's `classes` partition (`curve_levels`, sorted) or of the shard (`shard_levels`)."""
    config: str
    model: str
    partitions: frozenset
    hypotheses: tuple
    guided: str
    runs: frozenset
    latent: tuple = (4, 8, 8)           # 16 px images through the tiny VAE's 2x downsampling
    curve_levels: object = None         # () -> sorted levels
    shard_levels: object = None         # () -> levels in sampling order

    @property
    def classes(self):
        return len(self.hypotheses) - 1


FAMILIES = [
    Family('edm2-xs', 'edm2-xs', frozenset(IMAGENET_PARTITIONS), (*IMAGENET, -1), 'cfg2',
           frozenset({'unguided', 'unguided-fid', 'cfg1p4', 'cfg2', 'cfg4', 'cfg2-interval', 'cfg2-wide-interval',
                      'cfg2-window', 'cfg2-rate'})),
    Family('sd15-study', 'sd15', frozenset(PROMPT_PARTITIONS), (*PROMPTS, -1), 'cfg7p5', frozenset(SD_RUNS),
           # SD1.5's scheduler config: leading spacing, offset 1
           curve_levels=lambda: ddpm_levels(noise.ddpm_alphas_cumprod(1000, 0.00085, 0.012, 'scaled_linear'), 1)),
    Family('sd3-medium', 'sd3-medium', frozenset(PROMPT_PARTITIONS), (*PROMPTS, -1), 'cfg7',
           frozenset({'unguided', 'cfg7', 'cfg7-window'}),
           # the shifted grid's levels but its first, sigma = inf (t = 1: pure noise, the prior), and its last
           curve_levels=lambda: np.sort(noise.FlowSchedule(shift=3.0).sigmas(dict(steps=STEPS))[1:-1])),
    Family('sd21', 'sd21', frozenset({'classes', 'animals-vs-vehicles', 'dog-vs-reference'}), (*PROMPTS, -1),
           'cfg7p5', frozenset(SD_RUNS), curve_levels=lambda: sd21_levels('v')),
    Family('sd21-base', 'sd21-base', frozenset({'classes', 'animals-vs-vehicles', 'dog-vs-reference'}),
           (*PROMPTS, -1), 'cfg7p5', frozenset(SD_RUNS), curve_levels=lambda: sd21_levels('base')),
    # sigma_t of DDIM's leading timesteps of the linear schedule, 6 of 1000: 830, 664, ..., 0
    Family('dit-xl2-256', 'dit-xl2-256', frozenset(IMAGENET_PARTITIONS), (*IMAGENET, -1), 'cfg4',
           frozenset({'unguided', 'cfg1p5', 'cfg4', 'cfg4-window'}),
           shard_levels=lambda: noise.DDPMSchedule(noise.ddpm_alphas_cumprod(1000, 1e-4, 0.02, 'linear'), 'leading',
                                                   0).all_sigmas[[0, 166, 332, 498, 664, 830]]),
]
BY_CONFIG = {family.config: family for family in FAMILIES}


def families(*, having=None):
    """FAMILIES as pytest parameters named by config, those with the attribute `having` set alone."""
    return [pytest.param(f, id=f.config) for f in FAMILIES if having is None or getattr(f, having) is not None]


def run_of(shipped_config_run, config):
    return shipped_config_run(config)[0]


@pytest.mark.parametrize('family', families())
def test_the_curves_cover_the_partitions_within_log_k_and_guidance_reads_cross_entropy(family, shipped_config_run):
    """The unguided curve has every partition of the family's file, read out as entropy, finite everywhere; its
    `classes` partition counts one trajectory per hypothesis in play and stays below log K for K of them (the
    entropy over K cells), up to the CSV's rounding; the guided run is read out as cross-entropy."""
    workdir = run_of(shipped_config_run, family.config)
    curve = pd.read_csv(workdir / f'results/models/{family.model}/entropy/unguided.csv')
    assert family.partitions <= set(curve['partition'])
    assert (curve['readout'] == 'entropy').all()
    assert np.isfinite(curve[['sigma', 'H', 'H_se', 'rate']].to_numpy()).all()
    classes = curve.query("partition == 'classes'")
    assert classes['n'].iloc[0] == family.classes                               # 1 per hypothesis in play
    assert classes['H'].max() <= np.log(family.classes) + 1e-9
    guided = pd.read_csv(workdir / f'results/models/{family.model}/entropy/{family.guided}.csv')
    assert (guided['readout'] == 'cross-entropy').all()


@pytest.mark.parametrize('family', families(having='curve_levels'))
def test_the_curves_sit_on_the_schedulers_levels(family, shipped_config_run):
    """The `classes` curve's noise levels are those of the family's scheduler config at 6 steps (the CSV keeps 10
    significant digits)."""
    workdir = run_of(shipped_config_run, family.config)
    curve = pd.read_csv(workdir / f'results/models/{family.model}/entropy/unguided.csv')
    levels = np.sort(curve.query("partition == 'classes'")['sigma'].to_numpy())
    np.testing.assert_allclose(levels, family.curve_levels(), rtol=1e-9)


@pytest.mark.parametrize('family', families())
def test_the_shards_track_every_hypothesis_in_play_and_the_reference(family, shipped_config_run):
    """The unguided shard holds one trajectory per hypothesis (those in play, then the reference), each in the
    latent shape, tracked against every hypothesis at every step: hypotheses x steps x hypotheses network calls (no
    extra call when unguided; SD3's first step from pure noise is one of the 6)."""
    workdir = run_of(shipped_config_run, family.config)
    shard = np.load(workdir / f'results/models/{family.model}/trajectories/unguided/shard-0.npz')
    n = len(family.hypotheses)
    assert shard['hypotheses'].tolist() == list(family.hypotheses)
    assert shard['x'].shape == (n, *family.latent)
    assert int(shard['calls']) == n * STEPS * n
    if family.shard_levels is not None:
        np.testing.assert_allclose(shard['sigma'], family.shard_levels(), rtol=1e-12)


@pytest.mark.parametrize('family', families())
def test_the_windows_table_has_every_run_and_no_theory_value(family, shipped_config_run):
    """models_windows.csv has a row group for every run of the model and, for a downloaded model (no data mixture
    to compute it from), no theory value sigma_S."""
    table = pd.read_csv(run_of(shipped_config_run, family.config) / 'results/tables/models_windows.csv')
    table = table.query(f"model == '{family.model}'")
    assert set(table['estimator']) == family.runs
    assert table['sigma_S'].isna().all()


# --- what one family's run shows beside

@pytest.mark.parametrize('config', ['edm2-xs', 'dit-xl2-256'])
def test_edm2_and_dit_shards_keep_two_snapshots_of_the_denoised_latents(config, shipped_config_run):
    family = BY_CONFIG[config]
    workdir = run_of(shipped_config_run, config)
    shard = np.load(workdir / f'results/models/{family.model}/trajectories/unguided/shard-0.npz')
    assert shard['denoised'].shape[1:] == (2, *family.latent)       # the size overlay's 2 snapshots


def test_dit_images_are_decoded_by_the_vae(shipped_config_run):
    images = np.load(run_of(shipped_config_run, 'dit-xl2-256') / 'results/models/dit-xl2-256/images.npz')
    decoded = [images[key] for key in images.files if images[key].dtype == np.uint8]
    assert decoded and all(a.shape[-3:] == (16, 16, 3) for a in decoded)   # 8x8 latents, the tiny VAE upsamples 2x


def test_edm2_binary_form_counts_one_trajectory_each_of_class_207_and_the_unconditional_net(shipped_config_run):
    curve = pd.read_csv(run_of(shipped_config_run, 'edm2-xs') / 'results/models/edm2-xs/entropy/unguided.csv')
    binary = curve.query("partition == '207-vs-reference'")
    assert binary['n'].iloc[0] == 2                # 1 drawn as class 207 and 1 by the unconditional net


def test_edm2_runs_sample_from_their_own_pickles(shipped_config_run):
    """unguided-fid samples the 0.135 EMA net against the same 0.045 unconditional one (the config's `net` of
    that run), every other run the 0.045 pair."""
    logs = run_of(shipped_config_run, 'edm2-xs') / 'results/logs/model_trajectories'
    assert 'edm2-img512-xs-2147483-0.135.pkl, resources/edm2/edm2-img512-xs-uncond-2147483-0.045.pkl' in \
        (logs / 'edm2-xs-unguided-fid-0.log').read_text()
    assert 'edm2-img512-xs-2147483-0.045.pkl, resources/edm2/edm2-img512-xs-uncond-2147483-0.045.pkl' in \
        (logs / 'edm2-xs-unguided-0.log').read_text()


def test_edm2_window_placed_guidance_sits_in_the_unguided_window(shipped_config_run):
    workdir = run_of(shipped_config_run, 'edm2-xs')
    table = pd.read_csv(workdir / 'results/tables/models_windows.csv').query("model == 'edm2-xs'")
    log = (workdir / 'results/logs/model_trajectories/edm2-xs-cfg2-window-0.log').read_text()
    assert 'guidance w = 2 on σ ∈ (' in log      # guidance placed in the unguided run's window
    assert np.isfinite(table['sigma_half']).all()


def test_edm2_guidance_study_measures_fid_and_fd_dinov2_of_decoded_images(shipped_config_run):
    workdir = run_of(shipped_config_run, 'edm2-xs')
    table = pd.read_csv(workdir / 'results/tables/edm2-xs_guidance_study.csv')
    assert {'unguided', 'cfg-1.4', 'cfg-2', 'cfg-4', 'interval-best', 'window', 'rate'} <= set(table['method'])
    assert (table['samples'] == 44).all()          # 2 per class in play and fold, 2 folds
    for metric in ('fid', 'fd_dinov2', 'spread'):
        assert np.isfinite(table[[metric, f'{metric}_lo', f'{metric}_hi']].to_numpy()).all()
        assert (table[metric] > 0).all()
    # Guidance changes the images, so their features: the methods do not all measure the same.
    assert table['fd_dinov2'].nunique() > 1
    tuning = pd.read_csv(workdir / 'results/models/edm2-xs/guidance_study/tuning.csv')
    assert len(tuning) == 10              # every pair of the five edges
    # The interval search reads FD-DINOv2 alone: the tuning set measures nothing else (no FID, no Inception run).
    assert not {'fid', 'spread'} & set(tuning.columns) and np.isfinite(tuning['fd_dinov2']).all()
    log = (workdir / 'results/logs/guidance_study_samples/models-edm2-xs-evaluation.log').read_text()
    assert 'interval chosen on the tuning set by fd_dinov2' in log


def test_edm2_schedule_study_measures_fid_and_fd_dinov2_of_every_grid(shipped_config_run):
    """The schedule study runs on a downloaded model: its mmse measured on the unguided run's unconditional samples
    (one in the small run), every grid and setting sampled and measured by FID and FD-DINOv2 per seed."""
    workdir = run_of(shipped_config_run, 'edm2-xs')
    frame = pd.read_csv(workdir / 'results/models/edm2-xs/schedules.csv')
    assert set(frame['metric']) == {'fid', 'fd_dinov2'}
    assert set(frame['schedule']) == {'edm', 'entropic', 'rescaled', 'semantic-0.5', 'semantic-1'}
    assert set(frame['name']) == {'edm2-xs, class-conditional', 'edm2-xs, unconditional'}
    assert set(frame['guidance']) == {1.0, 1.4} and set(frame['nfe']) == {3}
    assert set(frame['seed'].value_counts()) == {30}
    assert np.isfinite(frame['value']).all() and (frame['value'] > 0).all()
    log = (workdir / 'results/logs/model_schedule_study/edm2-xs.log').read_text()
    assert 'measured mmse on the 1 unconditional final samples of run unguided' in log


def test_sd15_guidance_study_is_measured_against_statistics_built_from_images(shipped_config_run):
    workdir = run_of(shipped_config_run, 'sd15-study')
    stats = np.load(workdir / 'resources/reference/sd15-prompts.npz')
    assert int(stats['num_images']) == 6 and stats['fid/sigma'].shape == (2048, 2048)
    assert stats['fd_dinov2/mu'].shape == (feature_synthetic.DINOV2_HIDDEN,)
    table = pd.read_csv(workdir / 'results/tables/sd15_guidance_study.csv')
    assert {'unguided', 'cfg-3', 'cfg-7.5', 'interval-best', 'window', 'rate'} <= set(table['method'])
    assert np.isfinite(table[['fid', 'fd_dinov2', 'spread']].to_numpy()).all() and (table['samples'] == 32).all()


def test_sd3_samples_from_pure_noise_and_keeps_the_posterior_of_each_finite_level(shipped_config_run):
    workdir = run_of(shipped_config_run, 'sd3-medium')
    shard = np.load(workdir / 'results/models/sd3-medium/trajectories/unguided/shard-0.npz')
    assert shard['log_posterior'].shape == (STEPS - 1, 9, 9)
    log = (workdir / 'results/logs/model_trajectories/sd3-medium-unguided-0.log').read_text()
    assert f'{STEPS} steps from sigma inf' in log
