"""Window fitting: known answers on a logistic curve, honest NaNs, bootstrap intervals."""

import numpy as np
import pandas as pd
import pytest

from entropic.theory import noise, closed_forms
from entropic.method import speciation

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


def test_collision_crossing_and_value_at_theory_on_the_two_class_closed_form():
    from scipy.optimize import brentq
    d = 256.0
    sigma = np.sqrt(d) * np.geomspace(0.02, 20, 48)
    phi = closed_forms.two_class_collision(sigma, d)
    crossing, at_theory = speciation.collision_measures(sigma, phi, closed_forms.speciation_sigma(1 + d))
    # phi depends on sigma only through s = d / (1 + sigma^2): solve phi(s) = 0.775 for s directly.
    s_star = brentq(lambda s: closed_forms.two_class_collision(np.sqrt(d / s - 1), d) - 0.775, 0.5, 2.0)
    # Cubic spline on 48 levels over three decades: measured 1.2e-5 relative (3e-6 in phi at t_S).
    assert crossing == pytest.approx(np.sqrt(d / s_star - 1), rel=1e-3)
    assert at_theory == pytest.approx(closed_forms.two_class_collision(closed_forms.speciation_sigma(1 + d), d), abs=1e-4)
    assert at_theory == pytest.approx(0.775, abs=1e-3)     # why 0.775 reads t_S for two classes


def test_collision_measures_are_nan_where_the_curve_does_not_reach_them():
    sigma = np.geomspace(1, 100, 20)
    below = np.linspace(0.7, 0.5, 20)                       # starts below 0.775
    assert np.isnan(speciation.collision_measures(sigma, below, 1000.0)[0])
    assert np.isnan(speciation.collision_measures(sigma, below, 1000.0)[1])   # theory point off the grid
    above = np.linspace(1.0, 0.8, 20)                       # never falls to 0.775
    assert np.isnan(speciation.collision_measures(sigma, above, None)[0])
    # Many curves at once (the bootstrap's way) give each curve's own answer.
    falls = np.linspace(1.0, 0.5, 20)
    crossings, at = speciation.collision_measures(sigma, np.column_stack([below, above, falls]), 10.0)
    assert np.isnan(crossings[:2]).all()
    assert crossings[2] == pytest.approx(speciation.collision_measures(sigma, falls, 10.0)[0])
    assert at[2] == pytest.approx(speciation.collision_measures(sigma, falls, 10.0)[1])


def test_collision_rows_agree_across_coordinates_and_carry_bootstrap_intervals():
    d = 100.0
    sigma = np.sqrt(d) * np.geomspace(0.03, 30, 40)
    H = np.repeat(closed_forms.two_class_entropy(sigma, d)[:, None], 64, 1)
    rate = np.repeat(closed_forms.two_class_rate(sigma, d)[:, None] * sigma[:, None], 64, 1)
    rng = np.random.default_rng(0)
    phi_samples = closed_forms.two_class_collision(sigma, d)[:, None] + 0.01 * rng.standard_normal((40, 64))
    rows = {r['coordinate']: r for r in speciation.fit_windows(sigma, H, rate, top_eigenvalue=1 + d, num_boot=50,
                                                               rng=rng, phi_samples=phi_samples)}
    assert rows['t']['phi_crossing'] == pytest.approx(noise.sigma_to_vp_time(rows['sigma']['phi_crossing']))
    assert rows['log_sigma']['phi_crossing'] == pytest.approx(np.log(rows['sigma']['phi_crossing']))
    for row in rows.values():
        for name in speciation.COLLISION_MEASURES:
            assert row[f'{name}_lo'] <= row[name] <= row[f'{name}_hi']
    without = speciation.fit_windows(sigma, H, rate, top_eigenvalue=1 + d, num_boot=10, rng=rng)
    assert all(np.isnan(r['phi_crossing']) and np.isnan(r['phi_at_theory_hi']) for r in without)
    with pytest.raises(ValueError, match='phi_samples'):
        speciation.fit_windows(sigma, H, rate, num_boot=10, phi_samples=phi_samples[:, :3])


def test_many_curves_at_once_give_the_numbers_of_one_curve_at_a_time():
    # The bootstrap reads all its resampled curves with one spline fit per coordinate; each column must give
    # exactly (bit for bit: the tables are compared byte for byte across versions) what a call with that
    # curve alone gives, including a curve whose half maximum lies off the grid (NaN).
    rng = np.random.default_rng(5)
    sigma = np.logspace(-2, 2, 40)
    H = closed_forms.two_class_entropy(sigma, 4.0, 1.0)[:, None] * (1 + 0.05 * rng.standard_normal((1, 6)))
    rate = (closed_forms.two_class_rate(sigma, 4.0, 1.0) * sigma)[:, None] * (1 + 0.05 * rng.standard_normal((40, 6)))
    rate[:, 5] = np.linspace(0.0, 1.0, 40)      # rising to the grid's end in log sigma: no upper half maximum there
    for coordinate in speciation.COORDINATES + (speciation.FLOW_COORDINATE,):
        batch = speciation.window_measures(sigma, H, rate, coordinate)
        for b in range(H.shape[1]):
            one = speciation.window_measures(sigma, H[:, b], rate[:, b], coordinate)
            assert [batch[name][b] for name in speciation.MEASURES] == \
                pytest.approx([one[name] for name in speciation.MEASURES], rel=0, abs=0, nan_ok=True)
        if coordinate == 'log_sigma':
            assert np.isnan(batch['width_high'][5]) and np.isfinite(batch['width_high'][:5]).all()


def test_against_theory_puts_the_theory_point_at_its_mark_and_keeps_the_drop():
    # The collapse coordinates are affine in x, and the rate is a density in x: the theory point lands on 0
    # (VP time, log sigma) or 1 (sigma / sigma_S, (1 - t) / (1 - t_S)), and the drop of H, the integral of the
    # rate, is the same in x' as in x (the trapezoid sums over the same points agree to rounding, ~1e-15 relative;
    # rtol 1e-12). The flow map reverses the direction (pure noise, t -> 1, goes to 0): its integral changes sign.
    Lambda = 1 + 1e4                                     # two classes +-m, |m|^2 = 1e4, sigma_S = 100
    sigma = np.logspace(0, 4, 400)
    rate_log_sigma = closed_forms.two_class_rate(sigma, 1e4) * sigma
    for coordinate, mark, direction in (('t', 0.0, 1), ('log_sigma', 0.0, 1), ('sigma', 1.0, 1),
                                        (speciation.FLOW_COORDINATE, 1.0, -1)):
        x, rate = speciation.to_coordinate(sigma, rate_log_sigma, coordinate)
        x_s = speciation.theory_value(Lambda, coordinate)
        scaled_x, scaled_rate = speciation.against_theory(x, rate, x_s, coordinate)
        assert speciation.against_theory(x_s, 1.0, x_s, coordinate)[0] == pytest.approx(mark, abs=1e-15), coordinate
        assert direction * np.trapezoid(scaled_rate, scaled_x) == pytest.approx(np.trapezoid(rate, x), rel=1e-12)
    with pytest.raises(ValueError, match='flow_t'):
        speciation.against_theory(x, rate, x_s, 'flow')


def test_relative_width_and_its_interval_from_the_parts():
    # Two rows: FWHM / x* is the fit's relative_width; against the distance to pure noise, FWHM / (1 - t*); the
    # interval pairs the smallest width with the largest denominator and the other way round.
    rows = pd.DataFrame(dict(width=[0.2, 0.1], width_lo=[0.1, 0.05], width_hi=[0.3, 0.2],
                             peak=[0.8, 0.5], peak_lo=[0.75, 0.4], peak_hi=[0.9, 0.6]))
    rows['relative_width'] = rows['width'] / rows['peak']
    rel, lo, hi = speciation.relative_width(rows)
    np.testing.assert_array_equal(rel, [0.25, 0.2])
    np.testing.assert_allclose(lo, [0.1 / 0.9, 0.05 / 0.6], rtol=1e-15)
    np.testing.assert_allclose(hi, [0.3 / 0.75, 0.2 / 0.4], rtol=1e-15)
    rel, lo, hi = speciation.relative_width(rows, 'noise')
    np.testing.assert_allclose(rel, [0.2 / 0.2, 0.1 / 0.5], rtol=1e-15)
    np.testing.assert_allclose(lo, [0.1 / 0.25, 0.05 / 0.6], rtol=1e-15)
    np.testing.assert_allclose(hi, [0.3 / 0.1, 0.2 / 0.4], rtol=1e-15)
    assert np.all((lo <= rel) & (rel <= hi))
    with pytest.raises(ValueError, match='noise'):
        speciation.relative_width(rows, 'width')
