"""Where a rectified-flow sampler spends its steps relative to the speciation window: SD3's resolution shift.

Stable Diffusion 3 (Esser et al. 2024, arXiv:2403.03206, section 5.3.2) shifts its sampling times with the
resolution: the sampler's grid is uniform in a time u from 1 (pure noise) towards 0, and the network is
evaluated at the flow time t = s u / (1 + (s - 1) u) (noise.shift_flow_time), i.e. at the noise level s times
the unshifted one (sigma = t / (1 - t) -> s sigma). Esser et al. argue from the pixel count n: a constant image
seen through n independent noisy pixels is as uncertain at noise level sigma sqrt(n / m) as at sigma with m
pixels, so a model trained at m pixels needs the shift sqrt(n / m) at n; they chose s = 3.0 for 1024^2 by
human preference (their sqrt(n / m) against 256^2 is 4).

The Gaussian-mixture track gives the same question an exact answer. Model the semantic split of a latent of
d = channels x (resolution / downsampling)^2 numbers (SD3's VAE: 16 channels, 8x downsampling) as two
equiprobable classes +-m with unit variance per dimension and a fixed signal |m|^2 / d per dimension
(Biroli et al. 2024, arXiv:2402.18491, section 3: Lambda = 1 + |m|^2). Then sigma_S = sqrt(Lambda - 1) grows like
sqrt(d): at 1024^2 it is exactly 4 times that of 256^2 for any signal per dimension, and the entropy window
(here: the noise levels where H[Z | X] falls from 90% to 10% of log 2, closed_forms.two_class_drop_interval, a
property of the noise level, the same in every time coordinate) moves with it. What the shift does to it
is read on the sampler's own grid (noise.FlowSchedule, diffusers' FlowMatchEulerDiscreteScheduler): how
many of its steps evaluate the network inside the window, unshifted and shifted.

The signal per dimension of a real semantic split in SD3's latents is not known; it is a stated assumption
(a list in the config), and only the ratio between resolutions does not depend on it.
"""

import numpy as np

from entropic.theory import noise, closed_forms

COLUMNS = ('resolution', 'latent_shape', 'dim', 'signal_per_dim', 'Lambda', 'sigma_S', 't_S',
           'window_sigma_low', 'window_sigma_high', 'window_t_low', 'window_t_high', 'matching_shift',
           'shift', 'steps', 'sampler_t_S', 'sampler_window_low', 'sampler_window_high',
           'steps_in_window', 'step_share', 'time_share')

#----------------------------------------------------------------------------

def latent_dim(resolution, channels, downsampling):
    """d = channels * (resolution / downsampling)^2, the number of latent coordinates of a square image of
    `resolution` pixels per side; ValueError unless downsampling divides the resolution."""
    if resolution % downsampling:
        raise ValueError(f'resolution {resolution} is not a multiple of the VAE downsampling {downsampling}')
    return int(channels) * (int(resolution) // int(downsampling)) ** 2

def evaluation_levels(shift, steps):
    """The noise levels sigma (data units, decreasing, inf first) at which a `steps`-step rectified-flow sampler
    with timestep shift `shift` evaluates the network: noise.FlowSchedule's grid, i.e. diffusers'
    FlowMatchEulerDiscreteScheduler's, without its final 0 (the sampler's output); [steps]."""
    return noise.FlowSchedule(shift=shift).sigmas(dict(steps=steps))[:-1]

def sampler_time(sigma, shift):
    """The sampler's own time u in [0, 1] (its steps are uniform in u) at which a shift-`shift` sampler visits
    the noise level sigma: u = t(sigma / s), the unshifted flow time of sigma / s, since the shift multiplies
    sigma by s (noise.shift_flow_time). u = t for s = 1; 1 at sigma = inf. Any shape."""
    return noise.sigma_to_flow_time(np.asarray(sigma, dtype=np.float64) / shift)

def steps_in_window(levels, low, high):
    """How many evaluation levels (sigma) lie in the closed interval [low, high]; 0 if an edge is NaN."""
    levels = np.asarray(levels, dtype=np.float64)
    return int(np.sum((levels >= low) & (levels <= high)))

def time_share(levels, shift, low, high):
    """The share of the sampler's time range [u_last, u_first] of the grid `levels` that lies in the window
    [low, high] (sigma), the continuous counterpart of steps_in_window / steps; 0 if an edge is NaN."""
    u = sampler_time(np.asarray(levels, dtype=np.float64), shift)
    u_low, u_high = np.clip(sampler_time([low, high], shift), u.min(), u.max())
    return float(max(u_high - u_low, 0.0) / (u.max() - u.min())) if np.isfinite(u_low + u_high) else 0.0

def shift_rows(
    resolutions,            # image sizes in pixels (square), the first the reference of matching_shift
    latent_channels,        # VAE latent channels (SD3: 16)
    downsampling,           # VAE downsampling factor per side (SD3: 8)
    signals_per_dim,        # |m|^2 / d of the two-class model, each a row group
    shift,                  # the sampler's timestep shift to compare with no shift (SD3 Medium: 3.0)
    steps,                  # sampling steps (SD3 Medium's pipeline: 28)
):
    """One row (dict of COLUMNS) per signal per dimension, resolution and shift (1 and `shift`): the two-class
    mixture of the module's model, its speciation point (Lambda, sigma_S, flow time t_S), its window (sigma and
    flow time of the 90%-to-10% drop), the shift that would put its sigma_S where the reference resolution's
    sits unshifted (sigma_S / sigma_S of the first resolution: Esser et al.'s sqrt(n / m) for this model), and
    on the sampler's grid: t_S and the window in the sampler's time u, the evaluations inside the window
    (steps_in_window of `steps`, step_share) and the share of the sampler's time range inside it (time_share).
    ValueError for a resolution the downsampling does not divide, a shift <= 0 or steps < 1."""
    shifts = (1.0, float(shift)) if float(shift) != 1.0 else (1.0,)
    grids = {s: evaluation_levels(s, steps) for s in shifts}
    rows = []
    for signal in signals_per_dim:
        reference_sigma = None
        for resolution in resolutions:
            dim = latent_dim(resolution, latent_channels, downsampling)
            mean_sq_norm = dim * float(signal)
            Lambda = 1.0 + mean_sq_norm
            sigma_s = float(closed_forms.speciation_sigma(Lambda))
            reference_sigma = sigma_s if reference_sigma is None else reference_sigma
            low, high = closed_forms.two_class_drop_interval(mean_sq_norm)
            side = resolution // downsampling
            common = dict(resolution=int(resolution), latent_shape=f'{latent_channels}x{side}x{side}', dim=dim,
                          signal_per_dim=float(signal), Lambda=Lambda, sigma_S=sigma_s,
                          t_S=float(closed_forms.speciation_flow_time(Lambda)),
                          window_sigma_low=low, window_sigma_high=high,
                          window_t_low=float(noise.sigma_to_flow_time(low)),
                          window_t_high=float(noise.sigma_to_flow_time(high)),
                          matching_shift=sigma_s / reference_sigma)
            for s, levels in grids.items():
                rows.append(dict(common, shift=s, steps=int(steps),
                                 sampler_t_S=float(sampler_time(sigma_s, s)),
                                 sampler_window_low=float(sampler_time(low, s)),
                                 sampler_window_high=float(sampler_time(high, s)),
                                 steps_in_window=steps_in_window(levels, low, high),
                                 step_share=steps_in_window(levels, low, high) / int(steps),
                                 time_share=time_share(levels, s, low, high)))
    return rows
