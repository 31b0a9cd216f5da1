"""Sampler schedules: decreasing sigma grids placed by a curve, each ending at 0 as entropic.theory.noise's do.

A schedule is a time change phi(sigma), non-decreasing in sigma; the grid takes N levels at equal increments
of phi from sigma_max down to sigma_min and appends sigma = 0 (Stancevic, Handke & Ambrogioni 2025, "Entropic
Time Schedulers for Generative Diffusion Models", arXiv:2504.13612, Algorithm 1). N levels are N intervals:
N denoiser evaluations for a first-order sampler, 2N - 1 for EDM's Heun (entropic.method.sampler.sample_ode).

- edm_grid: EDM's rho = 7 grid (Karras et al. 2022, arXiv:2206.00364, eq. 5), the baseline.
- entropic time: phi = H[X0 | X_sigma], from the minimum mean squared error of the optimal denoiser
  mmse(sigma) = E|X0 - E[X0 | X_sigma]|^2 (summed over coordinates, data units squared) through I-MMSE
  (Guo, Shamai & Verdu 2005): in EDM coordinates X_sigma = X0 + sigma n the mutual information is
  I(snr) with snr = sigma^-2 and dI/dsnr = mmse / 2, so

      dH[X0 | X_sigma] / dsigma = mmse(sigma) / sigma^3,    i.e.  dH / dlog sigma = mmse / sigma^2,

  arXiv:2504.13612 §5.2 (eq. 13 there; docs/method.md eq. 13), eq. 10 of docs/method.md with Z replaced by X0.
- rescaled entropic time: phi = int_0^sigma s dH[X0 | X_s] = int_0^sigma mmse(s) / s^2 ds (arXiv:2504.13612
  §5.3 and its Algorithm 2); for Gaussian data N(0, c^2 I_d) it is d c arctan(sigma / c), whose equal steps
  are the optimal schedule of Sabour et al. 2024 (arXiv:2404.14507, Theorem 3.1; arXiv:2504.13612 App. E).
- semantic time: phi = (1 - lam) tau + lam H[Z | X_sigma] / log K, tau the entropic time normalised to
  [0, 1] on the grid's range and H[Z | X_sigma] the class entropy of an unguided run; lam = 1 puts every
  interior level inside the window where the class is decided (ours, issue 30; not in arXiv:2504.13612).

The mmse comes from the exact mixture (entropic.theory.exact.mixture_mmse, entropic.theory.closed_forms.two_class_mmse) or from
a trained denoiser's measured error (measured_mmse). The curves are tabulated on increasing sigma levels
(entropic.theory.noise.log_sigma_grid) whose ends are the grid's sigma_min and sigma_max, integrated by the
cumulative Simpson rule in log sigma (error O(h^4), h the log spacing) and inverted by linear interpolation
of log sigma against phi (error O(h^2)).
"""

import numpy as np
from scipy.integrate import cumulative_simpson

from entropic.theory import noise
from entropic.theory.partitions import UNCONDITIONAL

#----------------------------------------------------------------------------
# The baseline.

def edm_grid(
    num_steps,                          # N >= 2 levels, then 0
    sigma_min   = noise.EDM_SIGMA_MIN,  # lowest nonzero level, data units
    sigma_max   = noise.EDM_SIGMA_MAX,  # highest level, data units
    rho         = noise.EDM_RHO,        # EDM's 7
):
    """EDM's grid (Karras et al. 2022, arXiv:2206.00364, eq. 5): N levels uniform in sigma^(1/rho) from
    sigma_max to sigma_min, then 0; [N + 1] decreasing. ValueError as entropic.theory.noise.edm_sigma_grid."""
    return noise.edm_sigma_grid(num_steps, sigma_min, sigma_max, rho, append_zero=True)

#----------------------------------------------------------------------------
# Curves to grids.

def _check_curve(sigmas, values, name):
    sigmas = np.asarray(sigmas, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if sigmas.ndim != 1 or len(sigmas) < 3:
        raise ValueError(f'sigmas must be a 1-D array of at least 3 levels, got shape {sigmas.shape}')
    if not (np.all(np.isfinite(sigmas)) and sigmas[0] > 0 and np.all(np.diff(sigmas) > 0)):
        raise ValueError('sigmas must be finite, positive and strictly increasing (entropic.theory.noise.log_sigma_grid)')
    if values.shape != sigmas.shape:
        raise ValueError(f'{name} must have one value per sigma level ({len(sigmas)}), got shape {values.shape}')
    if not np.all(np.isfinite(values)):
        raise ValueError(f'{name} contains NaN or inf')
    return sigmas, values

def _check_mmse(sigmas, mmse):
    sigmas, mmse = _check_curve(sigmas, mmse, 'mmse')
    if not np.all(mmse > 0):
        raise ValueError('mmse must be > 0 at every level: the error of a denoiser of non-degenerate data')
    return sigmas, mmse

def entropic_time(
    sigmas,     # [L] increasing noise levels, data units
    mmse,       # [L] E|X0 - D(X_sigma)|^2 summed over coordinates, data units squared
):
    """H[X0 | X_sigma] - H[X0 | X_sigma_0] in nats at every level: the cumulative Simpson integral of
    dH/dlog sigma = mmse / sigma^2 (I-MMSE; arXiv:2504.13612 eq. 13); [L], 0 at sigmas[0], increasing.
    ValueError for levels that are not increasing and positive, or an mmse that is not finite and positive."""
    sigmas, mmse = _check_mmse(sigmas, mmse)
    return cumulative_simpson(mmse / sigmas ** 2, x=np.log(sigmas), initial=0)

def rescaled_entropic_time(
    sigmas,     # [L] increasing noise levels, data units
    mmse,       # [L] as entropic_time
):
    """int_{sigmas[0]}^sigma s dH[X0 | X_s] = int mmse(s) / s^2 ds in data units (arXiv:2504.13612 §5.3,
    Theorem 5.1: the rescaled entropic time, less its value at sigmas[0]); [L], 0 at sigmas[0], increasing.
    By Simpson's rule in log sigma of mmse / sigma. ValueError as entropic_time."""
    sigmas, mmse = _check_mmse(sigmas, mmse)
    return cumulative_simpson(mmse / sigmas, x=np.log(sigmas), initial=0)

def grid_at_equal_steps(
    sigmas,     # [L] increasing noise levels; sigmas[0] and sigmas[-1] become the grid's sigma_min and sigma_max
    time,       # [L] phi(sigma), non-decreasing (flat stretches allowed)
    num_steps,  # N >= 2 levels before the final 0
):
    """The decreasing grid sigma_0 = sigmas[-1] > ... > sigma_{N-1} = sigmas[0], sigma_N = 0, whose levels lie at
    equal increments of `time` (arXiv:2504.13612, Algorithm 1); [N + 1] float64.

    Between tabulated levels log sigma is interpolated linearly in phi. A target that falls on a flat stretch
    of phi takes its highest level; a target strictly inside a rise between two levels is unambiguous.
    ValueError where phi decreases, does not rise over the range, or N < 2, and where two levels coincide
    (phi rising by less than the tabulation resolves: tabulate finer).
    """
    sigmas, time = _check_curve(sigmas, time, 'time')
    if num_steps < 2:
        raise ValueError(f'num_steps must be >= 2, got {num_steps}')
    if np.any(np.diff(time) < 0):
        raise ValueError('time must be non-decreasing in sigma: a time change (smooth or monotonise a measured curve first)')
    if not time[-1] > time[0]:
        raise ValueError('time does not rise between the lowest and the highest level: no time change to place steps by')
    targets = time[0] + (time[-1] - time[0]) * np.arange(num_steps)[::-1] / (num_steps - 1)    # decreasing
    log_sigmas = np.log(sigmas)
    j = np.clip(np.searchsorted(time, targets[1:-1], side='right'), 1, len(time) - 1)  # time[j-1] <= y < time[j]
    frac = (targets[1:-1] - time[j - 1]) / (time[j] - time[j - 1])
    inner = np.exp(log_sigmas[j - 1] + frac * (log_sigmas[j] - log_sigmas[j - 1]))
    grid = np.concatenate([[sigmas[-1]], inner, [sigmas[0]], [0.0]])
    if np.any(np.diff(grid) >= 0):
        raise ValueError(f'{num_steps} levels of this curve are not strictly decreasing: it rises by less than its '
                         f'tabulation resolves over part of the range; tabulate it on more levels than {len(sigmas)}')
    return grid

def entropic_time_grid(sigmas, mmse, num_steps):
    """N levels at equal steps of H[X0 | X_sigma] on [sigmas[0], sigmas[-1]], then 0 (arXiv:2504.13612 §5.3,
    the entropic time); [N + 1] decreasing. sigmas, mmse: as entropic_time."""
    return grid_at_equal_steps(sigmas, entropic_time(sigmas, mmse), num_steps)

def rescaled_entropic_time_grid(sigmas, mmse, num_steps):
    """N levels at equal steps of the rescaled entropic time int mmse / sigma^2 dsigma on [sigmas[0],
    sigmas[-1]], then 0 (arXiv:2504.13612 §5.3); [N + 1] decreasing. sigmas, mmse: as entropic_time."""
    return grid_at_equal_steps(sigmas, rescaled_entropic_time(sigmas, mmse), num_steps)

#----------------------------------------------------------------------------
# The semantic schedule.

def monotone_class_entropy(
    sigmas,         # [L] increasing levels the curve is wanted at
    class_sigmas,   # [M] increasing levels of the measured curve
    class_entropy,  # [M] H[Z | X_sigma] in nats, measured (e.g. the tracker's readout of an unguided run)
    num_classes,    # K: the curve is clipped to [0, log K]
):
    """The measured class entropy made a time change: the least-squares non-decreasing fit in sigma (isotonic
    regression; H[Z | X_sigma] never decreases with sigma, data processing), clipped to [0, log K] and read at
    `sigmas` by linear interpolation in log sigma, held constant beyond the measured levels; [L] nats."""
    from sklearn.isotonic import IsotonicRegression
    class_sigmas, class_entropy = _check_curve(class_sigmas, class_entropy, 'class_entropy')
    if num_classes < 2:
        raise ValueError(f'num_classes must be >= 2, got {num_classes}')
    fit = IsotonicRegression(increasing=True).fit_transform(np.log(class_sigmas), class_entropy)
    fit = np.clip(fit, 0.0, np.log(num_classes))
    return np.interp(np.log(np.asarray(sigmas, dtype=np.float64)), np.log(class_sigmas), fit)

def semantic_time(
    sigmas,         # [L] increasing levels
    mmse,           # [L] as entropic_time
    class_entropy,  # [L] H[Z | X_sigma] in nats at `sigmas`, non-decreasing (monotone_class_entropy)
    num_classes,    # K
    lam,            # lambda in [0, 1]: the weight of the class entropy
):
    """(1 - lam) tau + lam H[Z | X_sigma] / log K, tau = the entropic time normalised to [0, 1] on the range;
    [L], dimensionless. lam = 0 is the entropic time, lam = 1 the class entropy alone (flat outside the
    window, where it places no interior level). ValueError for lam outside [0, 1]."""
    if not 0 <= lam <= 1:
        raise ValueError(f'lam must be in [0, 1], got {lam}')
    tau = entropic_time(sigmas, mmse)
    sigmas, class_entropy = _check_curve(sigmas, class_entropy, 'class_entropy')
    return (1 - lam) * tau / tau[-1] + lam * class_entropy / np.log(num_classes)

def semantic_grid(sigmas, mmse, class_entropy, num_classes, lam, num_steps):
    """N levels at equal steps of semantic_time on [sigmas[0], sigmas[-1]], then 0; [N + 1] decreasing.
    ValueError (grid_at_equal_steps) where lam = 1 and the class entropy is flat over the range."""
    return grid_at_equal_steps(sigmas, semantic_time(sigmas, mmse, class_entropy, num_classes, lam), num_steps)

#----------------------------------------------------------------------------
# The schedules compared (entropic.studies.schedule_study, workflow/rules/schedules.smk).

def grid_names(lambdas):
    """The names named_grids gives its grids, in its order: edm, entropic, rescaled, then semantic-<lam> for
    each lam (formatted by :g, e.g. semantic-0.5, semantic-1)."""
    return ['edm', 'entropic', 'rescaled'] + [f'semantic-{lam:g}' for lam in lambdas]

def named_grids(
    sigmas,         # [L] increasing levels; sigmas[0] and sigmas[-1] are every grid's sigma_min and sigma_max
    mmse,           # [L] as entropic_time
    class_entropy,  # [L] H[Z | X_sigma] in nats at `sigmas`, non-decreasing (monotone_class_entropy)
    num_classes,    # K
    lambdas,        # the lambdas of the semantic grids (none: no semantic grid)
    num_steps,      # N >= 2 levels before the final 0
    rho = noise.EDM_RHO,  # the EDM grid's
):
    """{name (grid_names): [N + 1] decreasing grid}: EDM's rho grid, the entropic and the rescaled entropic
    time, and the semantic time at every lambda, all on [sigmas[0], sigmas[-1]] and ending at 0. At N = 2 they
    coincide (sigma_max, sigma_min, 0): no interior level to place. ValueError as the grids'."""
    grids = [edm_grid(num_steps, sigmas[0], sigmas[-1], rho), entropic_time_grid(sigmas, mmse, num_steps),
             rescaled_entropic_time_grid(sigmas, mmse, num_steps)]
    grids += [semantic_grid(sigmas, mmse, class_entropy, num_classes, lam, num_steps) for lam in lambdas]
    return dict(zip(grid_names(lambdas), grids))

#----------------------------------------------------------------------------
# The curve of a trained denoiser.

def measured_mmse(
    denoiser,           # D(x, sigma, labels), entropic.method.denoisers
    draw_data,          # draw_data(n) -> (x0 [n, ...] tensor, labels [n] long): samples of the data joint (z, x0)
    sigmas,             # [L] noise levels
    samples_per_level,  # n >= 2 forward-noised samples at each level
    generator,          # torch.Generator of the forward noise (CPU: the same draws on every device)
    conditional = False,  # True: the denoiser given the class, E|X0 - D(x; z)|^2, whose entropy is H[X0 | X_sigma, Z]
):
    """The denoiser's squared error E|X0 - D(X0 + sigma n; sigma)|^2, summed over coordinates, at every level,
    with its standard error; (mmse [L], mmse_se [L]) in data units squared. It bounds the optimal denoiser's
    mmse from above by the denoiser's own excess error (arXiv:2504.13612 §5.2, the gap between the explicit
    and the denoising score-matching losses), and equals it for an exact denoiser.
    FloatingPointError where the denoiser returns NaN or inf."""
    import torch

    from entropic.method.sampler import normal
    if samples_per_level < 2:
        raise ValueError(f'samples_per_level must be >= 2, got {samples_per_level}')
    mean, se = [], []
    for sigma in np.asarray(sigmas, dtype=np.float64):
        x0, labels = draw_data(int(samples_per_level))
        x = x0 + float(sigma) * normal(generator, x0.shape, x0.dtype, x0.device)
        rows = labels if conditional else torch.full_like(labels, UNCONDITIONAL)
        error = (denoiser(x, float(sigma), rows) - x0).reshape(len(x0), -1).double().square().sum(-1).cpu().numpy()
        if not np.all(np.isfinite(error)):
            raise FloatingPointError(f'the denoiser returned NaN or inf at sigma = {sigma:.6g}')
        mean.append(error.mean())
        se.append(error.std(ddof=1) / np.sqrt(len(error)))
    return np.array(mean), np.array(se)
