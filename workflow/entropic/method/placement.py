"""Guidance placed by the measured entropy window: beyond the paper, which calls the window "a principled
basis for time-localized control" (Handke et al. 2026, arXiv:2602.09651, abstract) and stops there.

Given a fitted window of a partition (entropic.method.speciation, in log sigma), classifier-free guidance acts
- `weight: window`: only inside the window's full width at half maximum of dH/dlog sigma, optionally widened
  about its centre by a factor (in log sigma);
- `weight: rate`: at every noise level with a weight that follows the measured entropy rate,
  w(sigma) = 1 + (w - 1) rate(sigma) / max rate: guidance where, and as much as, the class is being decided.
The window and the rate come from an unguided run of the same model, so placement needs no tuning.
"""

import math

import numpy as np

from entropic.method.sampler import Guidance

#----------------------------------------------------------------------------

def window_interval(width_low, width_high, widen=1.0):
    """(sigma_lo, sigma_hi) of a window whose FWHM spans [width_low, width_high] in log sigma, widened
    about its centre by `widen` (2: twice as wide in log sigma)."""
    if not width_low < width_high or not np.isfinite([width_low, width_high]).all():
        raise ValueError(f'no finite window to place guidance in: FWHM [{width_low}, {width_high}] in log sigma')
    centre, half = (width_low + width_high) / 2, widen * (width_high - width_low) / 2
    return math.exp(centre - half), math.exp(centre + half)

def rate_profile(sigma, rate):
    """(log sigma, weight) of a guidance weight following the entropy rate: rate / max rate, clipped to [0, 1]."""
    sigma, rate = np.asarray(sigma, dtype=float), np.asarray(rate, dtype=float)
    order = np.argsort(sigma)
    peak = np.nanmax(rate)
    if not np.isfinite(peak) or peak <= 0:
        raise ValueError('the entropy rate has no positive peak: nothing to follow')
    weight = np.clip(np.nan_to_num(rate[order] / peak), 0.0, 1.0)
    return tuple(np.log(sigma[order]).tolist()), tuple(weight.tolist())

def placed_guidance(
    scale,              # w, the guidance scale at full weight
    placement,          # config entry: {partition, weight: 'window' | 'rate', widen}
    windows,            # pandas DataFrame of the source run's window fits (entropic.method.speciation rows)
    curve,              # pandas DataFrame of the source run's entropy curve (io.read_curve)
    source = 'the source run',
):
    """The sampler.Guidance a placement spec asks for, from the source run's fitted window or rate curve."""
    partition = placement.get('partition', 'classes')
    row = windows.query("partition == @partition and coordinate == 'log_sigma'")
    if row.empty:
        raise ValueError(f'{source} has no window for partition {partition!r}; it has {sorted(set(windows["partition"]))}')
    part = curve.query('partition == @partition')
    if placement.get('weight', 'window') == 'rate':
        return Guidance(scale=scale, profile=rate_profile(part['sigma'].to_numpy(), part['rate'].to_numpy()))
    # An edge the fit could not find (NaN) lies beyond the measured curve: the rate is still above half its
    # peak at the curve's end (e.g. SD1.5, whose sigma stops at 14.6), so the window runs to that end.
    ends = np.log([part['sigma'].min(), part['sigma'].max()]) if len(part) else (np.nan, np.nan)
    low, high = row['width_low'].iloc[0], row['width_high'].iloc[0]
    low = low if np.isfinite(low) or not np.isfinite(high) else ends[0]
    high = high if np.isfinite(high) or not np.isfinite(low) else ends[1]
    lo, hi = window_interval(low, high, placement.get('widen', 1.0))
    return Guidance(scale=scale, sigma_lo=lo, sigma_hi=hi)
