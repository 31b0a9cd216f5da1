"""Noise processes: exact conversions between VP time, alpha, EDM sigma, log-SNR and DDPM timesteps."""

import numpy as np
import pytest

from entropic import noise


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
    # ANCHORS.md B: alpha_bar and EDM-equivalent sigma of Stable Diffusion 1.5's schedule.
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
    # ANCHORS.md A.4: the 32-step grid of EDM2's sampler.
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
