"""Noise processes: exact conversions between VP time, alpha, EDM sigma, log-SNR and DDPM timesteps."""

import numpy as np
import pytest

from entropic.theory import noise


def test_vp_time_sigma_round_trip():
    t = np.linspace(1e-4, 12, 101)
    np.testing.assert_allclose(noise.sigma_to_vp_time(noise.vp_time_to_sigma(t)), t, rtol=1e-12)


def test_vp_state_rescaled_is_ve_state():
    # x_t = e^{-t} x0 + sqrt(1 - e^{-2t}) n  =>  x_t / e^{-t} = x0 + sigma n with sigma = sqrt(e^{2t} - 1).
    t = np.linspace(0.01, 8, 50)
    alpha = np.exp(-t)
    np.testing.assert_allclose(np.sqrt(1 - alpha ** 2) / alpha, noise.vp_time_to_sigma(t), rtol=1e-12)
    np.testing.assert_allclose(noise.alpha_to_sigma(alpha), noise.vp_time_to_sigma(t), rtol=1e-12)
    np.testing.assert_allclose(noise.sigma_to_alpha(noise.vp_time_to_sigma(t)), alpha, rtol=1e-12)


def test_log_snr_round_trip():
    sigma = np.logspace(-3, 3, 61)
    np.testing.assert_allclose(noise.log_snr_to_sigma(noise.sigma_to_log_snr(sigma)), sigma, rtol=1e-12)
    np.testing.assert_allclose(noise.sigma_to_log_snr(1.0), 0.0)


def test_vp_rate_factor_is_dsigma_dt():
    t = np.linspace(0.1, 5, 20)
    h = 1e-6
    numeric = (noise.vp_time_to_sigma(t + h) - noise.vp_time_to_sigma(t - h)) / (2 * h)
    np.testing.assert_allclose(noise.vp_rate_factor(noise.vp_time_to_sigma(t)), numeric, rtol=1e-6)


def test_ddpm_scaled_linear_matches_sd15_table():
    # diffusers' SD v1 scheduler config (scaled_linear, 0.00085 to 0.012, 1000 steps): alpha_bar and EDM-equivalent sigma of Stable Diffusion 1.5's schedule.
    alphas = noise.ddpm_alphas_cumprod()
    sigmas = noise.ddpm_sigmas()
    assert alphas.shape == (1000,)
    np.testing.assert_allclose(alphas[[0, 500, 999]], [0.99915, 0.2763, 0.00466], rtol=2e-3)
    table = {0: '0.029', 100: '0.344', 250: '0.696', 500: '1.618', 750: '4.10', 999: '14.6'}
    for step, printed in table.items():   # equal to the printed digits, within half a unit of the last one
        decimals = len(printed.split('.')[1])
        assert abs(sigmas[step] - float(printed)) <= 0.5 * 10 ** -decimals, (step, sigmas[step], printed)
    assert np.all(np.diff(sigmas) > 0)


def test_ddpm_timestep_round_trip():
    steps = np.array([0, 1.5, 250, 499.25, 998])
    np.testing.assert_allclose(noise.sigma_to_ddpm_timestep(noise.ddpm_timestep_to_sigma(steps)), steps, atol=1e-9)
    np.testing.assert_allclose(noise.ddpm_timestep_to_sigma(np.arange(1000)), noise.ddpm_sigmas(), rtol=1e-12)


def test_ddpm_rejects_unknown_schedule():
    with pytest.raises(ValueError, match='beta_schedule'):
        noise.ddpm_alphas_cumprod(beta_schedule='cosine')


def test_edm_grid_matches_edm2_defaults():
    # NVlabs/edm2 generate_images.py edm_sampler defaults (EDM eq. 5, rho 7): the 32-step grid of EDM2's sampler.
    grid = noise.edm_sigma_grid(32)
    assert grid[0] == 80 and grid[-1] == 0.002
    np.testing.assert_allclose(grid[[5, 13, 17, 22]], [31.2, 5.00, 1.609, 0.283], rtol=3e-3)
    with_zero = noise.edm_sigma_grid(64, append_zero=True)
    assert len(with_zero) == 65 and with_zero[-1] == 0 and np.all(np.diff(with_zero) < 0)


@pytest.mark.parametrize('kwargs, match', [
    (dict(rho=0), 'rho'), (dict(rho=-1), 'rho'), (dict(sigma_min=1, sigma_max=1), 'sigma_min'),
    (dict(sigma_min=-0.1), 'sigma_min'), (dict(num_steps=1), 'num_steps'),
])
def test_edm_grid_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        noise.edm_sigma_grid(**kwargs)


@pytest.mark.parametrize('timestep_spacing, steps_offset, num_train_timesteps', [
    ('leading', 1, 1000), ('leading', 0, 1000), ('trailing', 0, 1000), ('trailing', 1, 1000),
    ('linspace', 0, 1000), ('linspace', 1, 1000), ('leading', 1, 999), ('trailing', 0, 1001), ('linspace', 0, 777),
])
def test_ddpm_timesteps_equal_diffusers_schedulers_at_every_step_count(timestep_spacing, steps_offset,
                                                                        num_train_timesteps):
    # diffusers' DDIMScheduler (and DDPMScheduler, which lays the grid out the same way) built from the same
    # config, for every step count it accepts. Where its grid is not a valid one (trailing: a float arange that
    # overshoots to timestep -1 at 62 step counts of 1000; leading: steps_offset pushing the top past T - 1),
    # ours refuses instead of sampling elsewhere.
    import diffusers
    config = dict(num_train_timesteps=num_train_timesteps, timestep_spacing=timestep_spacing, steps_offset=steps_offset)
    schedulers = [diffusers.DDIMScheduler(**config), diffusers.DDPMScheduler(**config)]
    refused = 0
    for steps in range(1, num_train_timesteps + 1):
        expected = []
        for scheduler in schedulers:
            scheduler.set_timesteps(steps)
            expected.append(scheduler.timesteps.numpy())
        np.testing.assert_array_equal(expected[0], expected[1])
        valid = (len(expected[0]) == steps and expected[0].min() >= 0 and expected[0].max() < num_train_timesteps
                 and np.all(np.diff(expected[0]) < 0))
        if valid:
            np.testing.assert_array_equal(noise.ddpm_timesteps(steps, **config), expected[0])
        else:
            refused += 1
            with pytest.raises(ValueError, match=f'{steps} steps'):
                noise.ddpm_timesteps(steps, **config)
    assert refused < num_train_timesteps / 10


def test_ddpm_timesteps_of_the_issue_and_refusals():
    assert noise.ddpm_timesteps(10, timestep_spacing='trailing').tolist() == list(range(999, 0, -100))
    assert noise.ddpm_timesteps(10, timestep_spacing='leading', steps_offset=1).tolist() == list(range(901, 0, -100))
    with pytest.raises(ValueError, match="timestep_spacing must be one of 'leading', 'trailing', 'linspace'"):
        noise.ddpm_timesteps(10, timestep_spacing='karras')
    with pytest.raises(ValueError, match='steps must be in 1..1000'):
        noise.ddpm_timesteps(1001)


#----------------------------------------------------------------------------
# Rectified flow (Stable Diffusion 3).

def test_flow_path_divided_by_its_signal_scale_is_the_edm_state():
    # diffusers' forward flow process, scale_noise: x_t = t eps + (1 - t) x0 at the scheduler's own t (float32
    # values, used in float64 here). x_t / (1 - t) = x0 + sigma eps with sigma = t / (1 - t): float64 rounding of
    # a division by 1 - t >= 0.008, a few units of 1e-16 relative to (1 + sigma) max |x|: atol 1e-13 (1 + sigma).
    import diffusers
    import torch
    scheduler = diffusers.FlowMatchEulerDiscreteScheduler(shift=3.0)
    scheduler.set_timesteps(28)
    generator = torch.Generator().manual_seed(0)
    x0 = torch.randn(28, 4, 3, 3, generator=generator, dtype=torch.float64)
    eps = torch.randn(28, 4, 3, 3, generator=generator, dtype=torch.float64)
    x_t = scheduler.scale_noise(x0, scheduler.timesteps, eps)
    t = scheduler.sigmas[:-1].double().view(-1, 1, 1, 1)
    sigma = torch.as_tensor(noise.flow_time_to_sigma(t.numpy()))
    x = x_t / (1 - t)
    assert torch.isinf(sigma[0]).all()      # t = 1, pure noise: no finite EDM state, x_t = eps
    torch.testing.assert_close(x_t[0], eps[0], rtol=0, atol=0)
    torch.testing.assert_close(x[1:], x0[1:] + sigma[1:] * eps[1:], rtol=0, atol=1e-13 * float((1 + sigma[1:]).max()))


def test_flow_time_and_sigma_convert_both_ways_and_the_shift_multiplies_sigma():
    t = np.linspace(0, 1, 101)
    sigma = noise.flow_time_to_sigma(t)
    assert sigma[0] == 0 and np.isinf(sigma[-1]) and np.all(np.diff(sigma) > 0)
    np.testing.assert_allclose(noise.sigma_to_flow_time(sigma), t, rtol=1e-15, atol=0)
    np.testing.assert_allclose(noise.sigma_to_flow_time(np.array([0.0, 1.0, np.inf])), [0.0, 0.5, 1.0], rtol=0, atol=0)
    # s t / (1 + (s - 1) t) in EDM coordinates: s t / (1 - t), i.e. sigma -> s sigma.
    for shift in (0.5, 1.0, 3.0, 6.0):
        shifted = noise.shift_flow_time(t[:-1], shift)
        np.testing.assert_allclose(noise.flow_time_to_sigma(shifted), shift * sigma[:-1], rtol=1e-13, atol=0)
        assert noise.shift_flow_time(1.0, shift) == 1.0 and noise.shift_flow_time(0.0, shift) == 0.0


@pytest.mark.parametrize('shift, num_train_timesteps', [(3.0, 1000), (1.0, 1000), (0.5, 1000), (1.15, 1000),
                                                        (6.0, 1000), (3.0, 500)])
def test_flow_grid_and_network_times_equal_diffusers_at_every_step_count(shift, num_train_timesteps):
    # FlowMatchEulerDiscreteScheduler with a static shift, built from the same config, for 1 to 1000 steps: the
    # flow times (its sigmas) and the network times it hands the transformer (its timesteps), float32 for float32.
    import diffusers
    scheduler = diffusers.FlowMatchEulerDiscreteScheduler(shift=shift, num_train_timesteps=num_train_timesteps)
    schedule = noise.FlowSchedule(shift, num_train_timesteps)
    for steps in range(1, 1001):
        scheduler.set_timesteps(steps)
        times = schedule.flow_times(steps)
        np.testing.assert_array_equal(times, scheduler.sigmas.numpy()[:-1].astype(np.float64))
        sigmas = schedule.sigmas(dict(steps=steps))
        network = np.array([schedule.network_timestep(s) for s in sigmas[:-1]])
        assert network.dtype == np.float32
        np.testing.assert_array_equal(network, scheduler.timesteps.numpy())
        assert np.isinf(sigmas[0]) and sigmas[-1] == 0 and np.all(np.diff(sigmas) < 0)


def test_flow_schedule_of_sd3_medium():
    schedule = noise.FlowSchedule(shift=3.0)
    sigmas = schedule.sigmas(dict(steps=28))
    assert len(sigmas) == 29 and np.isinf(sigmas[0])
    # The lowest level: the training grid's lowest t shifted (t = 3 / 1002), then the sampling grid's end
    # shifted again (diffusers shifts twice): sigma = 9 sigma_train(1 / 1000) = 9 / 999, to float32 rounding of t.
    assert sigmas[-2] == pytest.approx(9 / 999, rel=1e-6)
    assert sigmas[1] == pytest.approx(3 * noise.flow_time_to_sigma(1 - (1 - 3 / 1002) / 27), rel=1e-6)
    assert schedule.init_std(sigmas) == 1.0 and schedule.init_std([5.0, 0.0]) == 6.0   # x_t ~ N(0, I): x / (1 + sigma)
    assert schedule.timestep(np.inf) == 1000 and np.isinf(schedule.sigma(1000.0))
    for sigma in sigmas[1:-1]:
        assert schedule.sigma(schedule.timestep(sigma)) == pytest.approx(sigma, rel=1e-12)
    with pytest.raises(ValueError, match='shift must be > 0'):
        noise.FlowSchedule(shift=0)
    with pytest.raises(ValueError, match='steps must be >= 1'):
        schedule.flow_times(0)
