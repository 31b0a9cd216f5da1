"""Flow matching in the Gaussian-mixture track: t_S = sigma_S / (1 + sigma_S), windows in flow time (closed form,
endpoints, brute force in low d, the exact curves) and SD3's timestep shift against the speciation window."""

import numpy as np
import pytest
from scipy.special import expit

from entropic.theory import exact, mixtures, noise, closed_forms
from entropic.studies import flow_shift
from entropic.method import speciation

LOG2 = np.log(2)


def test_speciation_flow_time_closed_form_and_endpoints():
    # Lambda = 1 + sigma^2 with sigma = 3: t_S = 3 / 4 exactly; Lambda = 1: no speciation scale, t_S = 0.
    assert closed_forms.speciation_flow_time(10.0) == pytest.approx(0.75, rel=1e-15)
    assert closed_forms.speciation_flow_time(1.0) == 0.0
    # Towards pure noise as Lambda grows: 1 - t_S = 1 / (1 + sqrt(Lambda - 1)).
    Lambda = np.array([2.0, 101.0, 1e6 + 1])
    np.testing.assert_allclose(1 - closed_forms.speciation_flow_time(Lambda), 1 / (1 + np.sqrt(Lambda - 1)), rtol=1e-9)
    # The same noise level as Biroli et al.'s VP t_S = 1/2 log Lambda: one point, three clocks.
    for value in Lambda:
        sigma_s = noise.flow_time_to_sigma(closed_forms.speciation_flow_time(value))
        assert sigma_s == pytest.approx(noise.vp_time_to_sigma(closed_forms.speciation_time(value)), rel=1e-12)
        assert speciation.theory_value(value, 'flow_t') == closed_forms.speciation_flow_time(value)
        assert speciation.from_sigma(sigma_s, 'flow_t') == pytest.approx(closed_forms.speciation_flow_time(value), rel=1e-15)
    with pytest.raises(ValueError, match='flow_t'):
        speciation.to_coordinate(np.ones(3), np.ones(3), 'flow')


def test_flow_rate_is_the_derivative_of_the_entropy_in_flow_time():
    # dH/dt by central differences of H(sigma(t)) against the chain rule of to_coordinate. Truncation error
    # h^2 / 6 |H'''|, |H'''| < 1e4 here (rates up to ~50 per unit t, varying on scales ~0.02): < 2e-9 at h = 1e-6;
    # rounding eps H / h ~ 1e-10: rtol 1e-6 of rates of order 1, atol 1e-7. The levels keep the SNR s <= 5, where the
    # Gauss-Hermite quadratures of H and of its I-MMSE rate agree (deep in the tail, s ~ 20, they part by 0.3% of a
    # rate of 3e-4: the rare-event regime of tests/test_exact.py, not the chain rule).
    mean_sq_norm = 400.0
    t = np.array([0.9, 0.95, 0.98, 0.99, 0.995])
    h = 1e-6
    H = lambda t: closed_forms.two_class_entropy(noise.flow_time_to_sigma(t), mean_sq_norm)
    numeric = (H(t + h) - H(t - h)) / (2 * h)
    sigma = noise.flow_time_to_sigma(t)
    x, rate = speciation.to_coordinate(sigma, closed_forms.two_class_rate(sigma, mean_sq_norm) * sigma, 'flow_t')
    np.testing.assert_allclose(x, t, rtol=1e-15)
    np.testing.assert_allclose(rate, numeric, rtol=1e-6, atol=1e-7)


def test_entropy_on_the_flow_path_by_monte_carlo_in_low_dimension():
    # Brute force in the flow's own coordinates, never through sigma: x_t = (1 - t) x0 + t eps with x0 from two
    # classes +-m (d = 2, unit variance), x_t | z ~ N((1 - t) z m, ((1 - t)^2 + t^2) I), so the posterior log-odds
    # are L = 2 (1 - t) m.x_t / ((1 - t)^2 + t^2) and H = E h2(sigmoid L). It must equal the EDM closed form at
    # sigma = t / (1 - t). Tolerance: 4 standard errors of the mean of n i.i.d. binary entropies (a false failure
    # about once in 16,000 runs) plus the closed form's quadrature error (< 1e-9).
    rng = np.random.default_rng(11)
    m = np.array([1.2, -0.9])
    n = 200_000
    for t in (0.2, 0.5, 0.7, 0.9):
        z = rng.choice([-1.0, 1.0], size=n)
        x0 = z[:, None] * m + rng.standard_normal((n, 2))
        x_t = (1 - t) * x0 + t * rng.standard_normal((n, 2))
        L = 2 * (1 - t) * (x_t @ m) / ((1 - t) ** 2 + t ** 2)
        p = expit(L)
        h2 = -(p * np.log(np.where(p > 0, p, 1)) + (1 - p) * np.log(np.where(p < 1, 1 - p, 1)))
        closed = closed_forms.two_class_entropy(noise.flow_time_to_sigma(t), float(m @ m))
        assert abs(h2.mean() - closed) <= 4 * h2.std() / np.sqrt(n) + 1e-9


def _brute_flow_window(mean_sq_norm, num=400_001):
    """Peak and FWHM of dH/dt on a dense uniform grid in flow time, by finite differences (no splines, no chain rule)."""
    t = np.linspace(1e-6, 1 - 1e-9, num) if mean_sq_norm < 1e3 else 1 - np.geomspace(1e-9, 1 - 1e-6, num)[::-1]
    H = closed_forms.two_class_entropy(noise.flow_time_to_sigma(t), mean_sq_norm)
    rate = np.gradient(H, t)
    i = int(np.argmax(rate))
    above = np.flatnonzero(rate >= rate[i] / 2)
    return t[i], t[above[-1]] - t[above[0]], np.diff(t)[max(i - 1, 0)]


@pytest.mark.parametrize('mean_sq_norm', [10.0, 100.0])
def test_flow_window_of_the_closed_form_against_brute_force(mean_sq_norm):
    # Brute force resolves the peak to one grid step dt (2.5e-6) and the width to two; two_class_windows reads a
    # 4001-level spline (its VE and VP widths agree with PAPER-independent numbers to 5e-3 relative in
    # tests/test_closed_forms.py; here measured 2e-6): 1e-5 absolute covers both.
    w = speciation.two_class_windows(mean_sq_norm)['flow_t']
    peak, width, dt = _brute_flow_window(mean_sq_norm)
    assert dt < 3e-6
    assert w['peak'] == pytest.approx(peak, abs=1e-5)
    assert w['width'] == pytest.approx(width, abs=1e-5)
    # Endpoints: the flow window lies inside (0, 1) and its peak near t_S (the rate peaks where s ~ 1).
    assert 0 < w['width_low'] < w['peak'] < w['width_high'] < 1
    assert abs(w['peak'] - closed_forms.speciation_flow_time(1 + mean_sq_norm)) < w['width'] / 4


def test_flow_window_crowds_towards_pure_noise_like_inverse_sqrt_d():
    # As |m| -> inf, H depends on u = sigma / |m| alone (H = HH(1 / u^2) up to O(1 / |m|^2)) and 1 - t = 1 / (1 + sigma)
    # ~ 1 / (|m| u): so |m| (1 - t*) -> 1 / u* and |m| FWHM_t -> 1 / u_lo - 1 / u_hi, where u*, u_lo, u_hi are the
    # peak and half-maximum points of u^2 dHH(1/u^2)/du (dH/dt = dH/du |m| u^2). Computed here on a dense grid in u;
    # the O(1/sigma) = O(1e-3) correction of (1 + sigma)^2 against sigma^2 at |m|^2 = 1e6 sets rel 5e-3.
    u = np.geomspace(0.05, 50, 400_001)
    g = u ** 2 * np.gradient(closed_forms.two_class_entropy_of_snr(1 / u ** 2), u)
    i = int(np.argmax(g))
    above = np.flatnonzero(g >= g[i] / 2)
    u_star, u_lo, u_hi = u[i], u[above[0]], u[above[-1]]
    w = speciation.two_class_windows(1e6)['flow_t']
    assert 1e3 * (1 - w['peak']) == pytest.approx(1 / u_star, rel=5e-3)
    assert 1e3 * w['width'] == pytest.approx(1 / u_lo - 1 / u_hi, rel=5e-3)
    # Hence FWHM_t / t* ~ d^(-1/2) (a hundred times the dimension: a tenth of the relative width, to the O(1/|m|) =
    # 1% correction at |m|^2 = 1e4), while FWHM_t / (1 - t*) tends to the constant u* (1 / u_lo - 1 / u_hi).
    small = speciation.two_class_windows(1e4)['flow_t']
    assert (w['width'] / w['peak']) / (small['width'] / small['peak']) == pytest.approx(0.1, rel=1e-2)
    assert w['width'] / (1 - w['peak']) == pytest.approx(u_star * (1 / u_lo - 1 / u_hi), rel=5e-3)


def test_flow_window_fitted_on_the_exact_curve_brackets_the_closed_form():
    # The exact (randomised QMC) curve of a d = 100 two-class mixture on the pipeline's kind of grid (sigma_S
    # 10^-2.5 .. 10^1.5, 64 levels), its flow window (speciation.flow_window, as the pipeline fits it) with a
    # bootstrap interval over the replicates. The truth is the closed form read on the same grid (what the spline
    # refinement makes of noise-free data, bias b) and the 4001-level closed form differs from it by b; the
    # interval must cover the grid truth up to |b|.
    dim = 100
    mixture = mixtures.simplex_mixture(2, dim, 1.0, np.random.default_rng(4))
    Lambda = mixture.covariance_top_eigenvalue()
    sigma = noise.log_sigma_grid(64, closed_forms.speciation_sigma(Lambda) * 10 ** -2.5, closed_forms.speciation_sigma(Lambda) * 10 ** 1.5)
    curve = exact.exact_entropy_curve(mixture.project(), sigma, exact.Hypotheses.from_partition(mixture.weights, [[0], [1]]),
                                      512, 16, np.random.default_rng(5))
    row = speciation.flow_window(sigma, curve['H_samples'], curve['rate_samples'], Lambda, num_boot=200, seed=6)
    on_grid = speciation.window_measures(sigma, closed_forms.two_class_entropy(sigma, dim),
                                         closed_forms.two_class_rate(sigma, dim) * sigma, 'flow_t')
    dense = speciation.two_class_windows(dim)['flow_t']
    for name in ('peak', 'width'):
        bias = abs(on_grid[name] - dense[name])
        assert row[f'{name}_lo'] - bias <= dense[name] <= row[f'{name}_hi'] + bias, name
    assert row['theory'] == pytest.approx(closed_forms.speciation_flow_time(Lambda))
    assert row['relative_width'] == pytest.approx(row['width'] / row['peak'])


#----------------------------------------------------------------------------
# SD3's resolution-dependent shift against the window.

def test_latent_dim_and_its_refusal():
    assert flow_shift.latent_dim(256, 16, 8) == 16 * 32 * 32 == 16384
    assert flow_shift.latent_dim(1024, 16, 8) == 16 * 128 * 128
    with pytest.raises(ValueError, match='resolution 250'):
        flow_shift.latent_dim(250, 16, 8)


def test_drop_interval_reaches_its_fractions_and_refuses_bad_ones():
    low, high = closed_forms.two_class_drop_interval(163.84)
    # brentq to 1e-13 relative in the SNR: H is then exact to ~1e-13 nats.
    assert closed_forms.two_class_entropy(low, 163.84) == pytest.approx(0.1 * LOG2, abs=1e-11)
    assert closed_forms.two_class_entropy(high, 163.84) == pytest.approx(0.9 * LOG2, abs=1e-11)
    assert np.isnan(closed_forms.two_class_drop_interval(0.5)[0])      # the 10% level lies at sigma^2 < 0
    with pytest.raises(ValueError, match='low < high'):
        closed_forms.two_class_drop_interval(10.0, low=0.9, high=0.1)


def test_the_sampler_time_is_the_grid_uniform_time_under_every_shift():
    # The shifted sampler visits flow time t = shift(u) with u linear from 1 to the shifted lowest training time,
    # s / (T + s - 1) (noise.FlowSchedule): sampler_time undoes the shift, so its u must be uniform in the step index
    # and end there. float32 rounding of t moves u by < 1e-7 per level (du/dt <= s here), against steps of 0.037.
    for shift in (1.0, 3.0, 0.5):
        u = flow_shift.sampler_time(flow_shift.evaluation_levels(shift, 28), shift)
        assert u[0] == 1.0
        assert u[-1] == pytest.approx(shift / (1000 + shift - 1), rel=1e-5)
        np.testing.assert_allclose(np.diff(u), (u[-1] - 1) / 27, rtol=1e-5)
    sigma = np.array([0.1, 2.0, 50.0])
    np.testing.assert_allclose(noise.shift_flow_time(flow_shift.sampler_time(sigma, 3.0), 3.0),
                               noise.sigma_to_flow_time(sigma), rtol=1e-14)


def test_time_share_endpoints():
    levels = flow_shift.evaluation_levels(3.0, 28)
    assert flow_shift.time_share(levels, 3.0, 0.0, np.inf) == pytest.approx(1.0)
    assert flow_shift.time_share(levels, 3.0, 1e-5, 1e-4) == 0.0    # below the grid's lowest level, 9 / 999
    # Between two neighbouring levels: one of the 27 equal steps in u (float32 grid: 1e-5 relative).
    assert flow_shift.time_share(levels, 3.0, levels[6], levels[5]) == pytest.approx(1 / 27, rel=1e-5)
    assert flow_shift.time_share(levels, 3.0, np.nan, 10.0) == 0.0
    assert flow_shift.steps_in_window(levels, 0.0, np.inf) == 28 and flow_shift.steps_in_window(levels, np.nan, 1) == 0


def test_shift_rows_against_brute_force_counts_and_the_matching_shift():
    rows = flow_shift.shift_rows([256, 1024], 16, 8, [0.001, 0.01, 0.1], shift=3.0, steps=28)
    assert len(rows) == 3 * 2 * 2
    for row in rows:
        # Brute force, without the drop interval: the grid's levels whose closed-form H lies between 10% and 90%
        # of log 2 (H is monotone in sigma, so these are exactly the levels inside the interval).
        H = closed_forms.two_class_entropy(flow_shift.evaluation_levels(row['shift'], 28)[1:], row['dim'] * row['signal_per_dim'])
        assert row['steps_in_window'] == np.sum((H >= 0.1 * LOG2) & (H <= 0.9 * LOG2))
        assert row['step_share'] == row['steps_in_window'] / 28
        assert row['window_t_low'] < row['t_S'] < row['window_t_high']
        assert row['sampler_window_low'] < row['sampler_t_S'] < row['sampler_window_high']
        # sigma_S grows like sqrt(d): 1024^2 against 256^2 asks for shift sqrt(262144 / 16384) = 4, for any signal
        # (Esser et al.'s sqrt(n / m) in this model); exact up to rounding.
        assert row['matching_shift'] == pytest.approx(1.0 if row['resolution'] == 256 else 4.0, rel=1e-12)
        if row['shift'] == 1.0:
            assert row['sampler_t_S'] == pytest.approx(row['t_S'], rel=1e-15)
    by = {(r['resolution'], r['signal_per_dim'], r['shift']): r for r in rows}
    for signal in (0.001, 0.01, 0.1):
        # The shift moves the sampler towards the window (never away from it) ...
        assert by[1024, signal, 3.0]['steps_in_window'] >= by[1024, signal, 1.0]['steps_in_window']
        assert by[1024, signal, 3.0]['time_share'] > by[1024, signal, 1.0]['time_share']
        # ... but by 3 where this model asks for 4: 1024^2 shifted sees its t_S later on the sampler's clock than
        # 256^2 unshifted (sigma_S(1024) / 3 = 4/3 sigma_S(256) > sigma_S(256)).
        assert by[1024, signal, 3.0]['sampler_t_S'] > by[256, signal, 1.0]['sampler_t_S']
