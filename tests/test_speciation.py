"""Window fitting: known answers on a logistic curve, honest NaNs, bootstrap intervals."""

import numpy as np
import pytest

from entropic import speciation

MU, SCALE = np.log(5.0), 0.4     # logistic drop in log sigma centred at sigma = 5


def logistic_curve(sigma):
    u = (np.log(sigma) - MU) / SCALE
    H = np.log(2) / (1 + np.exp(-u))
    rate = np.log(2) / SCALE * np.exp(-u) / (1 + np.exp(-u)) ** 2     # dH/dlog sigma
    return H, rate


def test_log_sigma_measures_of_a_logistic_curve():
    sigma = np.exp(np.linspace(MU - 8 * SCALE, MU + 8 * SCALE, 40))
    H, rate = logistic_curve(sigma)
    w = speciation.window_measures(sigma, H, rate, 'log_sigma')
    assert w['peak'] == pytest.approx(MU, abs=1e-3)
    assert w['peak_rate'] == pytest.approx(np.log(2) / (4 * SCALE), rel=1e-3)
    # Logistic density: half maximum at |u| = 2 arccosh(sqrt 2).
    assert w['width'] == pytest.approx(4 * SCALE * np.arccosh(np.sqrt(2)), rel=1e-3)
    assert w['half_entropy'] == pytest.approx(MU, abs=1e-3)
    assert w['drop80_low'] == pytest.approx(MU - SCALE * np.log(9), abs=2e-3)
    assert w['drop80_high'] == pytest.approx(MU + SCALE * np.log(9), abs=2e-3)


def test_coordinates_are_consistent():
    sigma = np.exp(np.linspace(MU - 8 * SCALE, MU + 8 * SCALE, 200))
    H, rate = logistic_curve(sigma)
    by_sigma = speciation.window_measures(sigma, H, rate, 'sigma')
    by_t = speciation.window_measures(sigma, H, rate, 't')
    # The half-entropy point is a property of H alone: the same noise level in every coordinate.
    assert by_sigma['half_entropy'] == pytest.approx(5.0, rel=1e-3)
    assert by_t['half_entropy'] == pytest.approx(0.5 * np.log1p(25.0), rel=1e-3)


def test_unreached_half_maximum_is_nan_not_extrapolated():
    sigma = np.exp(np.linspace(MU - 0.5 * SCALE, MU + 8 * SCALE, 40))   # grid starts just below the peak
    H, rate = logistic_curve(sigma)
    w = speciation.window_measures(sigma, H, rate, 'log_sigma')
    assert np.isnan(w['width_low']) and np.isnan(w['width'])
    assert np.isfinite(w['width_high'])


def test_non_finite_curve_is_refused():
    sigma = np.exp(np.linspace(0, 3, 10))
    H, rate = logistic_curve(sigma)
    H[4] = np.nan
    with pytest.raises(ValueError, match='NaN'):
        speciation.window_measures(sigma, H, rate, 't')


def test_bootstrap_interval_covers_truth_and_scales_with_noise():
    sigma = np.exp(np.linspace(MU - 6 * SCALE, MU + 6 * SCALE, 48))
    H, rate = logistic_curve(sigma)
    rng = np.random.default_rng(0)
    widths = []
    for noise_level in (0.02, 0.08):
        H_samples = H[:, None] + noise_level * rng.standard_normal((48, 64))
        rate_samples = rate[:, None] + noise_level * rng.standard_normal((48, 64))
        rows = speciation.fit_windows(sigma, H_samples, rate_samples, top_eigenvalue=26.0, num_boot=100, rng=rng)
        row = next(r for r in rows if r['coordinate'] == 'log_sigma')
        assert row['peak_lo'] <= MU <= row['peak_hi']
        assert row['theory'] == pytest.approx(np.log(5.0))
        widths.append(row['peak_hi'] - row['peak_lo'])
    assert widths[1] > 2 * widths[0]    # four times the noise: a clearly wider interval
