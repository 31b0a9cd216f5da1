"""Speciation windows: where an entropy curve H(sigma) falls, measured three ways, with bootstrap CIs.

A curve is given on increasing noise levels sigma with its rate dH/dlog sigma (>= 0). The window is
read in one of three coordinates x (the rate is converted by the chain rule):

- 't':         VP time t = 1/2 log(1 + sigma^2); rate |dH/dt| (docs/method.md eq. 12: sharp in relative terms),
- 'sigma':     EDM sigma; rate dH/dsigma ("no sharp transition"),
- 'log_sigma': log sigma; rate dH/dlog sigma.
- 'flow_t':    rectified-flow time t = sigma / (1 + sigma) (noise.sigma_to_flow_time); rate dH/dt; not in the
               default COORDINATES of fit_windows: the flow-matching view asks for it (FLOW_COORDINATE).

H at a noise level is one number in every process; only the rate and the window read from it depend on the
time coordinate (the chain rule).

Measures: the peak of the rate (location and height, refined by a parabola through the three
highest points), its full width at half maximum, the x where H crosses half its range, and the
interval that carries the central 80% of the drop (H at 10% and 90% of its range). A measure that the
curve does not reach (a half maximum beyond the grid) is NaN, never extrapolated.

Where the curve comes with its collision probability phi = E sum_c P(c | x)^2 (the clone agreement of
Biroli et al. 2024, arXiv:2402.18491), two more: the noise level where phi falls to 0.775, their reading of
the speciation time (0.775 is the two-class phi at s = |m|^2 / Lambda = 1, i.e. at t_S for Lambda >> 1:
entropic.theory.closed_forms.two_class_collision), and phi at the theory point t_S = 1/2 log Lambda. Both are properties
of the noise level alone, the same point in every coordinate.
"""

import numpy as np
from scipy.interpolate import CubicSpline

from entropic.theory import noise, closed_forms

COORDINATES = ('t', 'sigma', 'log_sigma')
FLOW_COORDINATE = 'flow_t'     # rectified-flow time (Liu et al. 2023, arXiv:2209.03003; Esser et al. 2024, arXiv:2403.03206)
MEASURES = ('peak', 'peak_rate', 'width', 'width_low', 'width_high', 'half_entropy', 'drop80_low', 'drop80_high')
CLONE_AGREEMENT_LEVEL = 0.775   # Biroli et al.'s reading of the speciation time: where phi falls to this
COLLISION_MEASURES = ('phi_crossing', 'phi_at_theory')

#----------------------------------------------------------------------------

def to_coordinate(sigma, rate_log_sigma, coordinate):
    """(x, dH/dx) on the given coordinate from sigma [L] and dH/dlog sigma [L] or [L, B] (B curves)."""
    sigma = np.asarray(sigma, dtype=np.float64)
    column = sigma.reshape(-1, *[1] * (np.ndim(rate_log_sigma) - 1))   # sigma against each curve's levels
    if coordinate == 't':
        return noise.sigma_to_vp_time(sigma), rate_log_sigma * (1 + column ** 2) / column ** 2
    if coordinate == 'sigma':
        return sigma, rate_log_sigma / column
    if coordinate == 'log_sigma':
        return np.log(sigma), rate_log_sigma
    if coordinate == FLOW_COORDINATE:       # dt / dsigma = 1 / (1 + sigma)^2
        return noise.sigma_to_flow_time(sigma), rate_log_sigma * (1 + column) ** 2 / column
    raise ValueError(f'coordinate must be one of {COORDINATES + (FLOW_COORDINATE,)}, got {coordinate!r}')

def _crossing(x, y, level, start, step):
    """x where y first falls to `level` walking from index `start` by `step` (linear interpolation); NaN if never."""
    i = start
    while 0 <= i + step < len(y):
        j = i + step
        if y[j] <= level:
            return x[i] + (x[j] - x[i]) * (y[i] - level) / (y[i] - y[j])
        i = j
    return np.nan

def _level_crossing(x, H, fraction):
    """x where the rising curve H first reaches min + fraction * range (from the low-noise end)."""
    level = H.min() + fraction * (H.max() - H.min())
    j = int(np.argmax(H >= level))
    if j == 0:
        return x[0]
    return x[j - 1] + (x[j] - x[j - 1]) * (level - H[j - 1]) / (H[j] - H[j - 1])

def refine(x, ys, factor=8):
    """Cubic-spline interpolation of the curves ys(x) onto a grid `factor` times finer.

    On the two-class closed form sampled at 32 log-uniform levels this reads the peak and the width
    to 0.2% (linear interpolation: 7%); a shape-preserving PCHIP would pin the peak to a grid point.
    """
    fine_x = np.interp(np.linspace(0, len(x) - 1, (len(x) - 1) * factor + 1), np.arange(len(x)), x)
    return fine_x, [CubicSpline(x, y)(fine_x) for y in ys]

def window_measures(sigma, H, rate_log_sigma, coordinate):
    """Dict of MEASURES for one curve in one coordinate (read on a cubic-spline refinement of the grid).

    sigma [L] increasing; H and rate_log_sigma [L], or [L, B] for B curves at once (the bootstrap's): then
    each measure is a [B] array, the same numbers as B calls with one curve each (one spline fit of all
    columns). Raises ValueError on NaN or inf."""
    x, rate = to_coordinate(sigma, np.asarray(rate_log_sigma, dtype=np.float64), coordinate)
    H = np.asarray(H, dtype=np.float64)
    if not (np.all(np.isfinite(H)) and np.all(np.isfinite(rate))):
        raise ValueError('entropy curve contains NaN or inf')
    x, (H, rate) = refine(x, [H, rate])
    if H.ndim == 2:
        columns = [_read_window(x, H[:, b], rate[:, b]) for b in range(H.shape[1])]
        return {name: np.array([c[name] for c in columns]) for name in MEASURES}
    return _read_window(x, H, rate)

def _read_window(x, H, rate):
    """MEASURES of one refined curve: x [F], H [F], rate [F] on x."""
    i = int(np.argmax(rate))
    peak, peak_rate = x[i], rate[i]
    if 0 < i < len(x) - 1:  # vertex of the parabola through the three highest points
        xs, ys = x[i - 1:i + 2], rate[i - 1:i + 2]
        a, b, c = np.polyfit(xs - x[i], ys, 2)
        if a < 0:
            shift = np.clip(-b / (2 * a), xs[0] - x[i], xs[2] - x[i])
            peak, peak_rate = x[i] + shift, c + b * shift + a * shift ** 2
    low = _crossing(x, rate, peak_rate / 2, i, -1)
    high = _crossing(x, rate, peak_rate / 2, i, +1)
    return dict(
        peak=peak, peak_rate=peak_rate, width=high - low, width_low=low, width_high=high,
        half_entropy=_level_crossing(x, H, 0.5),
        drop80_low=_level_crossing(x, H, 0.1), drop80_high=_level_crossing(x, H, 0.9),
    )

def collision_measures(sigma, phi, sigma_theory=None, level=CLONE_AGREEMENT_LEVEL):
    """(sigma where phi first falls to `level` walking up from the lowest noise, phi at sigma_theory), read on a
    cubic-spline refinement in log sigma; sigma [L] increasing, phi [L] in [0, 1], or [L, B] for B curves at
    once (then each result is [B]). NaN where a curve does not reach the level (it starts below it, or never
    falls to it) or sigma_theory (None included) lies off the grid."""
    phi = np.asarray(phi, dtype=np.float64)
    if not np.all(np.isfinite(phi)):
        raise ValueError('collision probability curve contains NaN or inf')
    x, (fine,) = refine(np.log(np.asarray(sigma, dtype=np.float64)), [phi])       # fine: [F] or [F, B]
    fine = fine.reshape(len(x), -1)
    below = fine <= level
    j = np.maximum(np.argmax(below, axis=0), 1)                                    # first level at or below
    i = j - 1
    columns = np.arange(fine.shape[1])
    reached = below.any(0) & (fine[0] > level)
    with np.errstate(divide='ignore', invalid='ignore'):
        log_crossing = x[i] + (x[j] - x[i]) * (fine[i, columns] - level) / (fine[i, columns] - fine[j, columns])
    crossing = np.full(fine.shape[1], np.nan)
    crossing[reached] = np.exp(log_crossing[reached])   # an unreached column's interpolation is meaningless (may overflow)
    at = np.full(fine.shape[1], np.nan)
    if sigma_theory is not None and x[0] <= np.log(sigma_theory) <= x[-1]:
        at = np.array([np.interp(np.log(sigma_theory), x, column) for column in fine.T])
    return (crossing, at) if phi.ndim == 2 else (float(crossing[0]), float(at[0]))

def from_sigma(sigma, coordinate):
    """A noise level sigma in the given coordinate (VP time, sigma, log sigma, flow time)."""
    if coordinate == FLOW_COORDINATE:
        return noise.sigma_to_flow_time(sigma)
    return {'t': noise.sigma_to_vp_time(sigma), 'sigma': sigma, 'log_sigma': np.log(sigma)}[coordinate]

def theory_value(top_eigenvalue, coordinate):
    """Biroli et al.'s speciation point t_S = 1/2 log Lambda in the given coordinate."""
    sigma_s = closed_forms.speciation_sigma(top_eigenvalue)
    if coordinate == FLOW_COORDINATE:
        return closed_forms.speciation_flow_time(top_eigenvalue)
    return {'t': closed_forms.speciation_time(top_eigenvalue), 'sigma': sigma_s, 'log_sigma': np.log(sigma_s)}[coordinate]

def fit_windows(
    sigma,                  # [L] increasing noise levels
    H_samples,              # [L, N] i.i.d. unbiased estimates of H (trajectories, replicates); the curve is their mean
    rate_samples,           # [L, N] the same for dH/dlog sigma
    top_eigenvalue = None,  # Lambda of the data the partition acts on, for the theory column; None if unknown
    num_boot       = 200,   # bootstrap resamples of the N columns
    ci_level       = 0.95,  # two-sided confidence level of the percentile intervals
    rng            = None,  # numpy Generator for the bootstrap
    phi_samples    = None,  # [L, N] the same columns' collision probabilities; None: the collision measures are NaN
    coordinates    = COORDINATES,  # the coordinates to read the window in (FLOW_COORDINATE too, on request)
):
    """One row (dict) per coordinate: every measure, its bootstrap CI (`<measure>_lo`, `<measure>_hi`),
    the relative width (width / peak, for every coordinate but log sigma), the theory value, and the COLLISION_MEASURES with
    their CIs (phi_crossing in the row's coordinate, phi_at_theory dimensionless)."""
    H_samples, rate_samples = np.asarray(H_samples), np.asarray(rate_samples)
    N = H_samples.shape[1]
    rng = np.random.default_rng(0) if rng is None else rng
    boot_index = rng.integers(N, size=(num_boot, N))
    collision = np.full((num_boot + 1, 2), np.nan)          # [point estimate, bootstraps] x COLLISION_MEASURES
    if phi_samples is not None:
        phi_samples = np.asarray(phi_samples, dtype=np.float64)
        if phi_samples.shape != H_samples.shape:
            raise ValueError(f'phi_samples {phi_samples.shape} must match H_samples {H_samples.shape}')
        sigma_theory = closed_forms.speciation_sigma(top_eigenvalue) if top_eigenvalue is not None else None
        curves = np.column_stack([phi_samples.mean(1)] + [phi_samples[:, idx].mean(1) for idx in boot_index])
        collision = np.stack(collision_measures(sigma, curves, sigma_theory), -1)   # [1 + num_boot, 2]
    # the resampled curves [L, num_boot], formed once for the three coordinates (an [L, num_boot, N] gather would
    # hold num_boot copies of the samples)
    H_boot, rate_boot = np.empty((2, len(sigma), num_boot))
    for b, idx in enumerate(boot_index):
        H_boot[:, b], rate_boot[:, b] = H_samples[:, idx].mean(1), rate_samples[:, idx].mean(1)
    rows = []
    for coordinate in coordinates:
        row = dict(coordinate=coordinate, **window_measures(sigma, H_samples.mean(1), rate_samples.mean(1), coordinate))
        boot = window_measures(sigma, H_boot, rate_boot, coordinate) if num_boot else \
            {name: np.empty(0) for name in MEASURES}                                # {measure: [num_boot]}
        for name in MEASURES:
            values = boot[name]
            lo, hi = np.nanquantile(values, [(1 - ci_level) / 2, (1 + ci_level) / 2]) if np.isfinite(values).any() else (np.nan, np.nan)
            row[f'{name}_lo'], row[f'{name}_hi'] = lo, hi
        row['relative_width'] = row['width'] / row['peak'] if coordinate != 'log_sigma' else np.nan
        row['theory'] = theory_value(top_eigenvalue, coordinate) if top_eigenvalue is not None else np.nan
        for j, name in enumerate(COLLISION_MEASURES):
            values = collision[:, j] if name == 'phi_at_theory' else from_sigma(collision[:, j], coordinate)
            row[name] = values[0]
            boot = values[1:]
            row[f'{name}_lo'], row[f'{name}_hi'] = np.nanquantile(boot, [(1 - ci_level) / 2, (1 + ci_level) / 2]) \
                if np.isfinite(boot).any() else (np.nan, np.nan)
        rows.append(row)
    return rows

def flow_window(sigma, H_samples, rate_samples, top_eigenvalue, num_boot, seed):
    """The window of one curve in rectified-flow time (FLOW_COORDINATE), for the flow-matching view of an exact
    curve (docs/flow-matching.md): fit_windows' row for that coordinate alone, its bootstrap drawn from stream
    3 of `seed` (stream 2 is the speciation rules' fits of the other coordinates; an experiment's own seed
    gives it the same draws however many experiments are fitted). sigma [L] increasing; H_samples,
    rate_samples [L, N] (the curve's npz twin); top_eigenvalue Lambda of the partition's data."""
    (row,) = fit_windows(sigma, H_samples, rate_samples, top_eigenvalue=top_eigenvalue, num_boot=num_boot,
                         rng=np.random.default_rng([seed, 3]), coordinates=(FLOW_COORDINATE,))
    return row

def against_theory(x, rate, x_s, coordinate):
    """(x', dH/dx') of a curve (x, dH/dx in `coordinate`, to_coordinate's output) read against its theory point
    x_s (theory_value), the coordinate in which curves of different Lambda collapse (docs/method.md eq. 12):
    VP time and log sigma shift, x - x_s (the rate unchanged); sigma scales, sigma / sigma_S (the rate times
    sigma_S); flow time, (1 - t) / (1 - t_S) ~ sigma_S / sigma (the rate's magnitude times 1 - t_S). Any
    shapes that broadcast. Raises ValueError for another coordinate."""
    if coordinate in ('t', 'log_sigma'):
        return x - x_s, rate
    if coordinate == 'sigma':
        return x / x_s, rate * x_s
    if coordinate == FLOW_COORDINATE:
        return (1 - x) / (1 - x_s), rate * (1 - x_s)
    raise ValueError(f'coordinate must be one of {COORDINATES + (FLOW_COORDINATE,)}, got {coordinate!r}')

def relative_width(rows, against='peak'):
    """(relative width, lo, hi), numpy [R], of window rows (a fit_windows frame of one coordinate, R rows):
    against='peak' is FWHM / x* (the row's relative_width), against='noise' FWHM / (1 - t*), the width against
    the distance to pure noise in flow time (1 - t* ~ 1 / sigma*). The interval pairs the extremes of the
    parts' bootstrap intervals (conservative: no ratio of values inside both parts' intervals falls outside)."""
    if against == 'peak':
        return (rows['relative_width'].to_numpy(), (rows['width_lo'] / rows['peak_hi']).to_numpy(),
                (rows['width_hi'] / rows['peak_lo']).to_numpy())
    if against == 'noise':
        return ((rows['width'] / (1 - rows['peak'])).to_numpy(), (rows['width_lo'] / (1 - rows['peak_lo'])).to_numpy(),
                (rows['width_hi'] / (1 - rows['peak_hi'])).to_numpy())
    raise ValueError(f"against must be 'peak' or 'noise', got {against!r}")

def two_class_windows(mean_sq_norm, variance=1.0, levels=4001, decades=4.0):
    """Closed-form window measures (window_measures) of two classes +-m, per coordinate (COORDINATES and flow time).

    Evaluated on a dense log-sigma grid of `levels` points spanning `decades` either side of |m|.
    """
    sigma = np.sqrt(mean_sq_norm) * np.logspace(-decades, decades, levels)
    H = closed_forms.two_class_entropy(sigma, mean_sq_norm, variance)
    rate = closed_forms.two_class_rate(sigma, mean_sq_norm, variance) * sigma
    return {c: window_measures(sigma, H, rate, c) for c in COORDINATES + (FLOW_COORDINATE,)}
