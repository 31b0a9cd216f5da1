"""The DiT preset of the diffusers backend: its schedule in EDM coordinates, the learned variance as Var[x0 | x], the
denoiser and its guidance against diffusers' DiTPipeline (entropic.networks.diffusers_pipeline, diffusers_denoiser),
the class order and the files it refuses (entropic.backends.dit).

Everything runs offline on the CPU against a tiny pipeline built from configs (tests/support/dit_tiny.py).
"""

import copy
import json
import math
import os
import re
import shutil

os.environ['HF_HUB_OFFLINE'] = '1'      # before diffusers is imported: never touch the hub

import numpy as np
import pytest
import torch

from entropic import backends
from entropic.files import download
from entropic.theory import noise
from entropic.method import sampler
from entropic.backends.dit import check_id2label
from entropic.networks import diffusers_folder, diffusers_pipeline, imagenet
from entropic.networks.diffusers_denoiser import DiffusersDenoiser, LearnedVariance
from entropic.theory.partitions import UNCONDITIONAL

import diffusers  # noqa: E402
from tests.support.dit_tiny import SCHEDULER, build_tiny_resources, tiny_transformer  # noqa: E402
from tests.support.rounding import FLOAT32_ULP, float32_cumprod_rtol, float32_network_atol  # noqa: E402
from tests.support.snakemake_cli import snakemake  # noqa: E402

FLOAT64_ULP = 2.0 ** -53


@pytest.fixture(scope='module')
def resources(tmp_path_factory):
    return build_tiny_resources(tmp_path_factory.mktemp('dit'))


@pytest.fixture(scope='module')
def folder(resources):
    return resources / 'resources' / 'DiT-XL-2-256'


def load_denoiser(folder, vae, **kwargs):
    """The denoiser a sampling job loads from the pipeline folder and the VAE folder the DiT backend gives it, every
    ImageNet class a hypothesis, on the CPU in float32."""
    return diffusers_pipeline.load_denoiser(folder, list(range(imagenet.NUM_CLASSES)), 'cpu', torch.float32, vae=vae,
                                            **kwargs)[0]


def read_schedule(folder):
    return diffusers_folder.noise_process(diffusers_folder.scheduler_config(folder))


def load_decoder(vae):
    """The DiT backend's decoder of the VAE in the folder `vae` (its files as the decoding job gets them)."""
    return backends.get('dit').load_decoder({'vae': [str(vae / name) for name in download.SD_VAE_FILES]}, 'cpu')


@pytest.fixture(scope='module')
def vae(resources):
    return resources / 'resources' / 'sd-vae-ft-ema'


@pytest.fixture(scope='module')
def denoiser(folder, vae):
    return load_denoiser(folder, vae, max_batch=64)


def states(count, sigma, seed=0, size=8):
    """x = x0 + sigma n in EDM coordinates, float64 latents of the tiny transformer (4 x 8 x 8)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(count, 4, size, size, generator=g, dtype=torch.float64) * math.sqrt(1 + sigma ** 2)

#----------------------------------------------------------------------------
# The schedule.

def test_schedule_is_the_linear_ddpm_schedule_of_the_scheduler_config_on_diffusers_timesteps(folder):
    schedule = read_schedule(folder)
    ddim = diffusers.DDIMScheduler.from_pretrained(folder / 'scheduler')
    # Our float64 abar against diffusers' float32 cumulative product of T = 1000 factors: equal up to the float32
    # rounding of that product, a relative error of at most T u.
    T = len(schedule.abar)
    assert T == 1000
    np.testing.assert_allclose(schedule.abar, ddim.alphas_cumprod.double().numpy(), rtol=T * FLOAT32_ULP, atol=0)
    # Ho et al.'s linear betas: sigma from sqrt(1e-4 / (1 - 1e-4)) = 0.0100 at t = 0 to 157 at t = 999.
    assert schedule.all_sigmas[0] == pytest.approx(math.sqrt(1e-4 / (1 - 1e-4)), rel=1e-12)
    assert abs(schedule.all_sigmas[-1] - 157) < 0.5
    for steps in (1, 4, 50, 250, 1000):     # DDIM's leading spacing with steps_offset 0, as DiTPipeline visits them
        ddim.set_timesteps(steps)
        np.testing.assert_array_equal(schedule.sigmas({'steps': steps}),
                                      np.append(schedule.all_sigmas[ddim.timesteps.numpy()], 0.0))
    ddim.set_timesteps(50)
    assert ddim.timesteps[:3].tolist() == [980, 960, 940] and ddim.timesteps[-1] == 0


def with_scheduler_config(source, target, **changes):
    """A copy of the tiny pipeline whose scheduler config has `changes` (a value None removes the key)."""
    shutil.copytree(source, target)
    path = target / 'scheduler' / 'scheduler_config.json'
    config = {**SCHEDULER, **changes}
    path.write_text(json.dumps({k: v for k, v in config.items() if v is not None}))
    return target


@pytest.mark.parametrize('key, value', [
    ('clip_sample', None),      # absent: DDIMScheduler's default, True, which clips the x0 estimate
    ('thresholding', True),
])
def test_scheduler_keys_the_backend_cannot_honour_are_refused_naming_the_key(folder, tmp_path, vae, key, value):
    other = with_scheduler_config(folder, tmp_path / 'other', **{key: value})
    with pytest.raises(ValueError, match=rf"other/scheduler/scheduler_config\.json: scheduler config key '{key}' is "
                                         r".*; the diffusers backend supports only False: a (clipped|thresholded) x0"):
        load_denoiser(other, vae)


# What the DiT backend once refused and the diffusers backend it is a preset of honours, as diffusers' DDIM
# scheduler reads the same config: v-prediction, the cosine schedule, zero terminal SNR.
@pytest.mark.parametrize('changes', [dict(prediction_type='v_prediction'), dict(beta_schedule='squaredcos_cap_v2'),
                                     dict(rescale_betas_zero_snr=True)])
def test_scheduler_keys_dit_once_refused_are_read_as_diffusers_reads_them(folder, tmp_path, vae, changes):
    other = with_scheduler_config(folder, tmp_path / 'other', **changes)
    den = load_denoiser(other, vae)
    ddim = diffusers.DDIMScheduler.from_pretrained(other / 'scheduler')
    ours, theirs = den.schedule.abar, ddim.alphas_cumprod.double().numpy()
    assert den.prediction_type == ddim.config.prediction_type == changes.get('prediction_type', 'epsilon')
    assert den.variance is not None                 # the learned variance is read on the same schedule
    np.testing.assert_array_equal(den.variance.betas, 1 - ours / np.append(1.0, ours[:-1]))
    if changes.get('rescale_betas_zero_snr'):       # its float32 rounding: tests/test_sd21.py
        assert ours[-1] == theirs[-1] == 0 and den.schedule.all_sigmas[-1] == math.inf
        np.testing.assert_array_equal(ours, noise.rescale_zero_terminal_snr(read_schedule(folder).abar))
    else:
        error = np.abs(ours / theirs - 1)
        assert np.all(error <= float32_cumprod_rtol(den.variance.betas)), error.max()


def test_a_trailing_grid_in_the_scheduler_config_is_the_one_the_sampler_visits(folder, tmp_path, vae):
    other = with_scheduler_config(folder, tmp_path / 'trailing', timestep_spacing='trailing', beta_schedule='scaled_linear',
                                  beta_start=0.00085, beta_end=0.012)
    schedule = load_denoiser(other, vae).schedule
    ddim = diffusers.DDIMScheduler.from_pretrained(other / 'scheduler')
    np.testing.assert_allclose(schedule.abar, ddim.alphas_cumprod.double().numpy(), rtol=1000 * FLOAT32_ULP, atol=0)
    ddim.set_timesteps(10)
    assert schedule.timesteps(10).tolist() == ddim.timesteps.tolist() == list(range(999, 0, -100))

#----------------------------------------------------------------------------
# The learned variance as Var[x0 | x].

def reverse_kernel_variance(v0, t, abar):
    """Var[x_{t-1} | x_t] of the DDPM chain for Gaussian data x0 ~ N(0, v0) per coordinate, from the joint
    Gaussian of (x_{t-1}, x_t): x_{t-1} = sqrt(abar_{t-1}) x0 + sqrt(1 - abar_{t-1}) n, x_t = sqrt(alpha_t) x_{t-1}
    + sqrt(beta_t) n'. The variance of the true reverse kernel, which L_vlb's optimal Sigma is."""
    alpha = abar[t] / abar[t - 1]
    a = abar[t - 1] * v0 + 1 - abar[t - 1]                 # Var[x_{t-1}]
    return a - alpha * a ** 2 / (alpha * a + 1 - alpha)       # Var[x_{t-1}] - Cov^2 / Var[x_t]


def reading_error(variance, t, sigma_t):
    """Bound on the float64 error of reading the reverse-step variance Sigma_t at timestep t as Var[x0 | x]:
    (Sigma - beta~_t) / c0_t^2 subtracts two numbers of size Sigma, and beta_t = 1 - abar_t / abar_{t-1}, recovered
    from the float64 abar, carries a relative error of a few ulps / beta_t (the ratio is exact to one ulp, then
    1 minus it cancels), which beta~_t and c0_t inherit. Hence an absolute error of a few (16) ulps of
    Sigma / (beta_t c0_t^2); the reference route (the joint Gaussian below) reads the same abar the same way."""
    return 16 * FLOAT64_ULP * sigma_t / (variance.betas[t] * variance.weight[t] ** 2)


@pytest.mark.parametrize('v0', [0.01, 0.25, 1.0, 3.0])
def test_learned_variance_of_the_optimal_kernel_is_the_posterior_variance_of_gaussian_data(v0):
    """Ground truth: for x0 ~ N(0, v0), the exact reverse-step variance Sigma* (joint Gaussian of the DDPM chain,
    no reference to x0's posterior), written as the network would write it (eq. 15 solved for f), must read as
    Tweedie's Var[x0 | x] = v0 sigma^2 / (v0 + sigma^2) in EDM coordinates. v0 > 1 needs f > 1 (extrapolation)."""
    abar = noise.ddpm_alphas_cumprod(1000, 1e-4, 0.02, 'linear')
    variance = LearnedVariance(abar)
    sigma2 = (1 - abar) / abar
    for t in (1, 2, 10, 100, 500, 900, 999):
        target = reverse_kernel_variance(v0, t, abar)
        f = (math.log(target) - variance.log_lower[t]) / (variance.log_upper[t] - variance.log_lower[t])
        assert v0 == 1 or (f > 1) == (v0 > 1)         # v0 = 1 is the upper end, f = 1 up to rounding
        got = float(variance(torch.tensor([2 * f - 1], dtype=torch.float64), t))
        exact = v0 * sigma2[t] / (v0 + sigma2[t])
        assert abs(got - exact) <= reading_error(variance, t, target), (t, got, exact)


def test_learned_variance_ends_are_zero_and_the_unit_gaussian_posterior_and_nothing_is_negative():
    abar = noise.ddpm_alphas_cumprod(1000, 1e-4, 0.02, 'linear')
    variance = LearnedVariance(abar)
    for t in (1, 37, 999):
        ends = variance(torch.tensor([-1.0, 1.0, -1.5]), t)
        # Sigma = beta~: a deterministic x0; Sigma = beta: Var = 1 - abar_t = sigma^2 / (1 + sigma^2).
        assert abs(float(ends[0])) <= reading_error(variance, t, variance.posterior[t])
        assert abs(float(ends[1]) - (1 - abar[t])) <= reading_error(variance, t, variance.betas[t])
        assert float(ends[2]) == 0                                # below beta~: read as 0, never negative
    # t = 0: beta~_0 = 0 and c0 = 1, so Var = Sigma, interpolated between ADM's clipped beta~_1 and beta_0.
    raw = torch.tensor([0.3])
    assert float(variance(raw, 0)) == pytest.approx(math.exp(0.65 * math.log(1e-4) + 0.35 * variance.log_lower[1]), rel=1e-12)
    with pytest.raises(ValueError, match=r'training timesteps 0\.\.999, not at timestep 10\.5'):
        variance(raw, 10.5)
    with pytest.raises(ValueError, match='training timesteps'):
        variance(raw, 1000)

#----------------------------------------------------------------------------
# The denoiser.

def test_denoiser_and_its_variance_are_the_formulas_of_a_direct_transformer_call(denoiser):
    transformer, schedule = denoiser.network, denoiser.schedule
    labels = torch.tensor([207, 0, 999, UNCONDITIONAL])
    for t in (0, 250, 999):
        sigma = float(schedule.all_sigmas[t])
        g = torch.Generator().manual_seed(t)
        x_t = torch.randn(4, 4, 8, 8, generator=g)              # float32: what the transformer sees
        with torch.no_grad():
            out = transformer(x_t, timestep=torch.tensor([t] * 4), class_labels=torch.tensor([207, 0, 999, 1000])).sample
        eps, raw = out[:, :4].double(), out[:, 4:].double()
        x_t = x_t.double()
        expected = (x_t - math.sqrt(1 - schedule.abar[t]) * eps) / math.sqrt(schedule.abar[t])  # DDPM x0 estimate
        x = x_t / math.sqrt(schedule.abar[t])
        got = denoiser(x, sigma, labels)
        assert got.dtype == torch.float64 and got.shape == x.shape
        # x_t is rebuilt in float64 and rounds to the same float32 input (its float64 error, ~1e-16, is far below
        # half a float32 ulp): only the float64 rounding of the two formulas differs.
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12 * sigma)
        variance = denoiser.posterior_variance(sigma, labels, x)
        assert variance.shape == x.shape and variance.dtype == torch.float64 and (variance >= 0).all()
        torch.testing.assert_close(variance, LearnedVariance(schedule.abar)(raw, t), rtol=1e-12, atol=0)
    # UNCONDITIONAL is the null label 1000, not a class: it differs from every class by far more than rounding.
    x = states(2, 1.0)
    assert (denoiser(x[:1], 1.0, torch.tensor([UNCONDITIONAL])) - denoiser(x[:1], 1.0, torch.tensor([999]))).abs().max() > 1e-3


def test_denoiser_rejects_bad_labels_and_a_variance_between_training_timesteps(denoiser):
    x = states(2, 1.0)
    with pytest.raises(ValueError, match=r'labels must be 0\.\.999 or -1'):     # 1000 is the null label
        denoiser(x, 1.0, torch.tensor([0, 1000]))
    with pytest.raises(ValueError, match='sigma'):
        denoiser(x, 200.0, torch.tensor([0, 1]))
    between = float(np.sqrt(denoiser.schedule.all_sigmas[10] * denoiser.schedule.all_sigmas[11]))
    assert denoiser(x, between, torch.tensor([0, 1])).shape == x.shape       # x0 at any sigma of the schedule
    with pytest.raises(ValueError, match='not at timestep 10.5'):
        denoiser.posterior_variance(between, torch.tensor([0, 1]), x)


def recorded_pipeline(resources, denoiser, labels, scale, steps=3):
    """diffusers' DiTPipeline on the tiny model, every scheduler step recorded: (images, [(t, sample, eps,
    pred_original_sample, prev_sample)])."""
    scheduler = diffusers.DDIMScheduler.from_pretrained(resources / 'resources' / 'DiT-XL-2-256' / 'scheduler')
    vae = diffusers.AutoencoderKL.from_pretrained(resources / 'resources' / 'sd-vae-ft-ema')
    pipe = diffusers.DiTPipeline(transformer=denoiser.network, vae=vae, scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    steps_taken, step = [], scheduler.step

    def record(model_output, t, sample, **kwargs):
        out = step(model_output, t, sample, **kwargs)
        steps_taken.append((int(t), sample.double(), model_output.double(), out.pred_original_sample.double(),
                            out.prev_sample))
        return out
    scheduler.step = record
    images = pipe(labels, guidance_scale=scale, generator=torch.Generator().manual_seed(0), num_inference_steps=steps,
                  output_type='np').images
    return images, steps_taken, scheduler


@pytest.mark.parametrize('scale', [1.0, 4.0])
def test_denoising_steps_guidance_and_decoding_agree_with_diffusers_dit_pipeline(resources, denoiser, scale):
    labels = [207, 281]
    images, steps_taken, scheduler = recorded_pipeline(resources, denoiser, labels, scale)
    # The same denoiser on diffusers' own float32 abar, so that both see one schedule; our grid is its timesteps.
    abar = scheduler.alphas_cumprod.double().numpy()
    ours = DiffusersDenoiser(denoiser.network, denoiser.table, noise.DDPMSchedule(abar, 'leading', 0), 'epsilon',
                             learned_variance=True, max_batch=64)
    assert [t for t, *_ in steps_taken] == ours.schedule.timesteps(3).tolist() == [666, 333, 0]
    B = len(labels)
    branches = torch.tensor(labels + [UNCONDITIONAL] * B) if scale > 1 else torch.tensor(labels)
    for t, sample, eps, x0, _ in steps_taken:
        sigma = float(ours.schedule.all_sigmas[t])
        x = sample[:len(branches)] / math.sqrt(abar[t])             # the pipeline's latents in EDM coordinates
        out = ours(x, sigma, branches)
        guided = out[B:] + scale * (out[:B] - out[B:]) if scale > 1 else out     # the sampler's D_g
        # The transformer sees the same float32 rows in the same batch as in the pipeline (x_t rebuilt in float64
        # rounds to the same float32), so its output is the same; what differs is diffusers' float32 arithmetic
        # after it: the guided eps (3 roundings of terms up to (w + 1)(|eps_c| + |eps_u|)) and DDIM's x0 =
        # (x_t - sqrt(1 - abar) eps) / sqrt(abar) (4 roundings of terms up to |x_t| + sqrt(1 - abar) |eps|), 8 units
        # of float32 rounding allowed for each.
        eps_c = (x[:B] - out[:B]) / sigma
        eps_u = (x[B:] - out[B:]) / sigma if scale > 1 else torch.zeros_like(eps_c)
        terms = sample[:B].abs() + math.sqrt(1 - abar[t]) * (scale + 1) * (eps_c.abs() + eps_u.abs())
        tolerance = 8 * FLOAT32_ULP * terms / math.sqrt(abar[t])
        assert ((guided - x0[:B]).abs() <= tolerance).all(), float(((guided - x0[:B]).abs() / tolerance).max())
        if scale > 1:   # every latent channel guided, the fourth included (the original DiT code guides three)
            assert ((guided - out[:B])[:, 3].abs() > 100 * tolerance[:, 3]).any()
    # The pipeline's last latents decode, through our decoder, to its images: the VAE's float32 input differs by
    # one rounding (latents times 1 / 0.18215 there, divided by 0.18215 here), carried through the VAE as a change
    # of reduction order would be (rounding.float32_network_atol; measured: 4 units of 1).
    decode = load_decoder(resources / 'resources' / 'sd-vae-ft-ema')
    np.testing.assert_allclose(decode(steps_taken[-1][4][:B]), images, rtol=0, atol=float32_network_atol(images))


def test_the_sampler_tracks_every_class_with_the_exact_kernel_of_the_learned_variance(denoiser):
    sigmas = denoiser.schedule.sigmas({'steps': 4})
    labels = torch.tensor([207, 281, UNCONDITIONAL])
    x_init = states(3, 0.0) * float(denoiser.schedule.init_std(sigmas))
    for kernel in ('sampler', 'exact'):
        out = sampler.sample(denoiser, sigmas, labels, x_init, torch.Generator().manual_seed(0),
                             guidance=sampler.Guidance(scale=4.0), hypotheses=[207, 281, UNCONDITIONAL], kernel=kernel,
                             sampler_variance=kernel)
        assert out['log_posterior'].shape == (4, 3, 3) and torch.isfinite(out['log_posterior']).all()
        torch.testing.assert_close(out['log_posterior'].exp().sum(-1), torch.ones(4, 3, dtype=torch.float64))

#----------------------------------------------------------------------------
# Files and class order.

def test_a_pipeline_numbering_the_classes_in_another_order_is_refused(folder, tmp_path):
    index = json.loads((folder / 'model_index.json').read_text())
    check_id2label(folder / 'model_index.json')
    names = imagenet.class_names()
    swapped = copy.deepcopy(index)
    swapped['id2label']['207'], swapped['id2label']['208'] = swapped['id2label']['208'], swapped['id2label']['207']
    path = tmp_path / 'model_index.json'
    path.write_text(json.dumps(swapped))
    message = (f"model_index.json: id2label[207] is {swapped['id2label']['207']!r}, which does not name ImageNet class "
               f"207 (n02099601, {names[207]!r}); the pipeline numbers the classes in another order")
    with pytest.raises(ValueError, match=re.escape(message)):
        check_id2label(path)
    del swapped['id2label']['999']
    path.write_text(json.dumps(swapped))
    with pytest.raises(ValueError, match=r'id2label must name the 1000 ImageNet classes'):
        check_id2label(path)


def test_a_dit_without_learned_variance_reads_as_epsilon_and_has_no_posterior_variance(folder, tmp_path, vae):
    # Once refused by the DiT backend; the diffusers backend reads a network with as many output channels as input
    # channels as the prediction alone.
    other = tmp_path / 'fixed-variance'
    shutil.copytree(folder, other)
    shutil.rmtree(other / 'transformer')
    tiny_transformer(out_channels=4).save_pretrained(other / 'transformer', safe_serialization=False)
    den = load_denoiser(other, vae)
    assert den.variance is None and not diffusers_pipeline.describe(other, vae).learned_variance
    t = 250
    sigma = float(den.schedule.all_sigmas[t])
    x_t = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        eps = den.network(x_t, timestep=torch.tensor([t] * 2), class_labels=torch.tensor([207, 1000])).sample.double()
    x = x_t.double() / math.sqrt(den.schedule.abar[t])
    torch.testing.assert_close(den(x, sigma, torch.tensor([207, UNCONDITIONAL])), x - sigma * eps,
                               rtol=1e-12, atol=1e-12 * sigma)
    with pytest.raises(ValueError, match='no learned variance'):
        den.posterior_variance(sigma, torch.tensor([207]), x[:1])


def test_missing_files_name_the_download_and_a_vae_of_another_scale_is_refused(resources, folder, tmp_path, vae):
    with pytest.raises(FileNotFoundError, match=r'nowhere/model_index.json: not found; run the download rule'):
        load_denoiser(tmp_path / 'nowhere', vae)
    partial = tmp_path / 'partial'
    shutil.copytree(folder, partial)
    (partial / 'transformer' / 'diffusion_pytorch_model.bin').unlink()
    with pytest.raises(FileNotFoundError, match=r'partial/transformer: cannot load the DiTTransformer2DModel .*'
                                                r'diffusion_pytorch_model.*run the download rule'):
        load_denoiser(partial, vae)
    vae = tmp_path / 'sdxl-vae'
    shutil.copytree(resources / 'resources' / 'sd-vae-ft-ema', vae)
    config = json.loads((vae / 'config.json').read_text())
    (vae / 'config.json').write_text(json.dumps({**config, 'scaling_factor': 0.13025}))
    with pytest.raises(ValueError, match=r'scales latents by 0.13025; DiT was trained on SD VAE latents scaled by 0.18215'):
        load_decoder(vae)


def test_the_config_check_refuses_what_the_sampling_jobs_would_naming_the_key(resources, tmp_path, monkeypatch):
    from pathlib import Path
    from entropic.pipeline.configuration import validate_config
    root = Path(__file__).resolve().parents[1]
    config = lambda **sampler: {'models': {'d': {'backend': 'dit', 'partitions': 'config/partitions/imagenet.yaml',
                                                 'sampler': {'steps': 50, **sampler}}}}
    monkeypatch.chdir(tmp_path)             # resources/ lie in the working directory
    assert validate_config(config(), root=root) == []                  # nothing downloaded: the jobs will check
    assert validate_config(config(steps=1001), root=root) == [
        'config key models.d.sampler.steps: DiT has 1000 timesteps; need 1 <= steps <= 1000']
    shutil.copytree(resources / 'resources', tmp_path / 'resources')
    assert validate_config(config(), root=root) == []
    index = tmp_path / 'resources' / 'DiT-XL-2-256' / 'model_index.json'
    swapped = json.loads(index.read_text())
    swapped['id2label']['0'], swapped['id2label']['1'] = swapped['id2label']['1'], swapped['id2label']['0']
    index.write_text(json.dumps(swapped))
    scheduler = tmp_path / 'resources' / 'DiT-XL-2-256' / 'scheduler' / 'scheduler_config.json'
    scheduler.write_text(json.dumps({**SCHEDULER, 'clip_sample': True}))
    errors = validate_config(config(), root=root)
    assert len(errors) == 1 and errors[0].startswith(
        "config key models.d.repo: resources/DiT-XL-2-256/scheduler/scheduler_config.json: scheduler config key "
        "'clip_sample' is True; the diffusers backend supports only False"), errors
    scheduler.write_text(json.dumps(SCHEDULER))
    errors = validate_config(config(), root=root)
    assert len(errors) == 1 and errors[0].startswith(
        'config key models.d.repo: resources/DiT-XL-2-256/model_index.json: id2label[0] is '), errors
    shutil.copy(resources / 'resources' / 'DiT-XL-2-256' / 'model_index.json', index)
    scheduler.unlink()
    assert validate_config(config(), root=root) == []       # a download under way: the jobs check once it is there


@pytest.mark.slow
def test_the_dit_config_plans_its_downloads_and_sharded_runs(tmp_path):
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    run = snakemake(tmp_path, '-n', configfiles=[root / 'config' / 'dit-xl2-256.yaml'])
    assert run.returncode == 0, run.stderr[-3000:]
    counts = dict(re.findall(r'^(\w+)\s+(\d+)$', run.stdout, flags=re.M))
    # 4 pipeline files and 2 VAE files; 4 runs of 12 shards; one decoding job (on a GPU) for the figures.
    assert (counts['download'], counts['model_trajectories'], counts['model_images']) == ('6', '48', '1'), counts
    for path in ['resources/DiT-XL-2-256/transformer/diffusion_pytorch_model.bin', 'resources/sd-vae-ft-ema/config.json']:
        assert f'output: {path}\n' in run.stdout
