"""Sampler schedules (entropic.method.schedules) and the deterministic ODE sampler (entropic.method.sampler.sample_ode)."""

import functools

import numpy as np
import pytest
import torch
from scipy.integrate import quad
from scipy.optimize import brentq

from entropic.method import denoisers, sampler, schedules
from entropic.theory import exact, mixtures, noise, closed_forms
from entropic.studies import mixture_estimators, schedule_study
from entropic.method.denoisers import UNCONDITIONAL

SIGMA_MIN, SIGMA_MAX = noise.EDM_SIGMA_MIN, noise.EDM_SIGMA_MAX


def two_class_mixture(dim=10, signal_per_dim=1.0):
    """The default run's k2-d1e1: classes +-m in R^10 with |m|^2 = 10, v0 = 1."""
    return mixtures.simplex_mixture(2, dim, signal_per_dim, np.random.default_rng(0))


#----------------------------------------------------------------------------
# The entropic time of a two-class mixture, derived independently.

def independent_entropic_grid(dim, mean_sq_norm, variance, num_steps):
    """Equal steps of H[X0 | X_sigma] for classes +-m, from nothing in the library: the exact mmse by adaptive
    quadrature over the projection y of x on m (p(+ | y) = sigmoid(2|m| y / v), so sum_k p_k |m_k - mbar|^2 =
    |m|^2 (1 - tanh^2(|m| y / v))), dH/dlog sigma = mmse / sigma^2 integrated by adaptive quadrature, and each
    level found by root-finding on the entropy between it and the level above."""
    m = np.sqrt(mean_sq_norm)

    def spread(sigma):
        v = variance + sigma ** 2
        density = lambda y: np.exp(-(y - m) ** 2 / (2 * v)) / np.sqrt(2 * np.pi * v) * (1 - np.tanh(m * y / v) ** 2)
        return mean_sq_norm * quad(density, m - 40 * np.sqrt(v), m + 40 * np.sqrt(v), points=[0.0, m],
                                   epsabs=0, epsrel=1e-12, limit=200)[0]

    def rate(log_sigma):
        sigma = np.exp(log_sigma)
        v = variance + sigma ** 2
        return (dim * variance * sigma ** 2 / v + (sigma ** 2 / v) ** 2 * spread(sigma)) / sigma ** 2

    entropy = lambda a, b: quad(rate, a, b, epsabs=0, epsrel=1e-11, limit=200)[0]
    lo, hi = np.log(SIGMA_MIN), np.log(SIGMA_MAX)
    step = entropy(lo, hi) / (num_steps - 1)
    levels = [hi]
    for _ in range(num_steps - 2):
        above = levels[-1]
        levels.append(brentq(lambda u: entropy(u, above) - step, lo, above, xtol=1e-13, rtol=1e-13))
    return np.exp(np.array(levels + [lo]))


def test_entropic_time_grid_of_two_classes_matches_an_independent_quadrature():
    # The library tabulates the closed-form mmse on L log-uniform levels, integrates by Simpson's rule and inverts
    # by linear interpolation: an O(h^2) method, so its error at L levels is about a third of its change from
    # (L + 1) / 2 levels. That change is the tolerance (3x margin), plus the quadratures' 1e-10 relative error.
    dim, mean_sq_norm, N = 10, 10.0, 16
    truth = independent_entropic_grid(dim, mean_sq_norm, 1.0, N)
    grids = {}
    for L in (513, 1025):
        sigmas = noise.log_sigma_grid(L, SIGMA_MIN, SIGMA_MAX)
        grids[L] = schedules.entropic_time_grid(sigmas, closed_forms.two_class_mmse(sigmas, mean_sq_norm, dim), N)
    tolerance = np.max(np.abs(np.log(grids[1025][:-1] / grids[513][:-1]))) + 1e-9
    assert grids[1025][-1] == 0 and len(grids[1025]) == N + 1
    assert tolerance < 1e-4                  # the tabulation resolves the grid to 0.01% in sigma
    assert np.max(np.abs(np.log(grids[1025][:-1] / truth))) < tolerance


def test_mixture_mmse_by_quasi_monte_carlo_matches_the_two_class_closed_form():
    # exact.mixture_mmse (the K-class path, quasi-Monte Carlo) against closed_forms.two_class_mmse (Gauss-Hermite):
    # within 5 standard errors of the quasi-Monte Carlo estimate, plus the closed form's 1e-9 relative error.
    mixture = two_class_mixture()
    sigmas = noise.log_sigma_grid(24, 0.05, 50.0)
    curve = exact.mixture_mmse(mixture, sigmas, 256, 8, np.random.default_rng(1))
    closed = closed_forms.two_class_mmse(sigmas, 10.0, 10)
    assert np.all(np.abs(curve['mmse'] - closed) <= 5 * curve['mmse_se'] + 1e-9 * closed)


def test_measured_mmse_of_the_exact_denoiser_is_the_exact_mmse():
    # The denoiser's measured error (the trained-network path) on the exact mixture denoiser: its mean is the
    # optimal mmse, so the two agree within 4 of its standard errors (and the quasi-Monte Carlo one's).
    mixture = two_class_mixture()
    den = denoisers.GMMDenoiser(mixture)
    rng = np.random.default_rng(2)

    def draw(n):
        x0, z = mixture.sample(n, rng)
        return torch.as_tensor(x0), torch.as_tensor(z)

    sigmas = np.array([0.1, 1.0, 3.0, 10.0])
    mean, se = schedules.measured_mmse(den, draw, sigmas, 4000, torch.Generator().manual_seed(3))
    closed = closed_forms.two_class_mmse(sigmas, 10.0, 10)
    assert np.all(np.abs(mean - closed) < 4 * se)
    conditional, _ = schedules.measured_mmse(den, draw, sigmas, 4000, torch.Generator().manual_seed(3),
                                             conditional=True)
    within = 10 * sigmas ** 2 / (1 + sigmas ** 2)          # given the class, only the within-class error is left
    assert np.all(np.abs(conditional - within) < 4 * se)


#----------------------------------------------------------------------------
# One Gaussian N(0, c^2 I_d): both times in closed form.

def test_rescaled_entropic_time_of_a_gaussian_is_the_arctan_schedule():
    # arXiv:2504.13612 App. E: for N(0, c^2 I_d), int mmse / sigma^2 dsigma = d c arctan(sigma / c), so equal steps
    # are sigma_i = c tan(a_max + i / (N - 1) (a_min - a_max)), a = arctan(sigma / c) (Sabour et al. 2024, Thm 3.1).
    # Tolerance: the O(h^2) inversion at L = 2049 levels (h = 0.0052 in log sigma) moves log sigma by ~h^2 = 3e-5.
    c, dim, N = 0.5, 3, 12
    mixture = mixtures.GaussianMixture(np.zeros((1, dim)), c ** 2, np.ones(1))
    sigmas = noise.log_sigma_grid(2049, SIGMA_MIN, SIGMA_MAX)
    mmse = exact.mixture_mmse(mixture, sigmas, 2, 2, np.random.default_rng(0))['mmse']
    a_min, a_max = np.arctan(SIGMA_MIN / c), np.arctan(SIGMA_MAX / c)
    truth = c * np.tan(a_max + np.arange(N) / (N - 1) * (a_min - a_max))
    grid = schedules.rescaled_entropic_time_grid(sigmas, mmse, N)
    assert np.max(np.abs(np.log(grid[:-1] / truth))) < 3e-5
    # The entropic time: H = d (log sigma - log(c^2 + sigma^2) / 2) + const, so u = sigma / sqrt(c^2 + sigma^2) is
    # geometric in its steps and sigma = c u / sqrt(1 - u^2).
    u_min, u_max = SIGMA_MIN / np.hypot(c, SIGMA_MIN), SIGMA_MAX / np.hypot(c, SIGMA_MAX)
    u = np.exp(np.log(u_max) + np.arange(N) / (N - 1) * np.log(u_min / u_max))
    grid = schedules.entropic_time_grid(sigmas, mmse, N)
    assert np.max(np.abs(np.log(grid[:-1] / (c * u / np.sqrt(1 - u ** 2))))) < 3e-5


#----------------------------------------------------------------------------
# The semantic schedule.

def two_class_curves(L=1025):
    sigmas = noise.log_sigma_grid(L, SIGMA_MIN, SIGMA_MAX)
    return sigmas, closed_forms.two_class_mmse(sigmas, 10.0, 10), closed_forms.two_class_entropy(sigmas, 10.0)


def test_semantic_grid_at_lambda_zero_is_the_entropic_grid():
    sigmas, mmse, class_entropy = two_class_curves()
    assert np.allclose(schedules.semantic_grid(sigmas, mmse, class_entropy, 2, 0.0, 10),
                       schedules.entropic_time_grid(sigmas, mmse, 10), rtol=1e-12)


def test_semantic_grid_at_lambda_one_puts_every_interior_level_in_the_window():
    # lam = 1: the interior levels sit at equal steps of H[Z | X_sigma], all of them inside the central range of
    # the drop (closed_forms.two_class_drop_interval: between 1/(N - 1) / 2 and 1 - 1/(N - 1) / 2 of log 2), none outside.
    sigmas, mmse, class_entropy = two_class_curves()
    N = 9
    grid = schedules.semantic_grid(sigmas, mmse, class_entropy, 2, 1.0, N)
    lo, hi = closed_forms.two_class_drop_interval(10.0, low=0.5 / (N - 1), high=1 - 0.5 / (N - 1))
    assert np.isclose(grid[0], SIGMA_MAX) and np.isclose(grid[N - 1], SIGMA_MIN)
    assert np.all((grid[1:N - 1] > lo) & (grid[1:N - 1] < hi))
    fractions = closed_forms.two_class_entropy(grid[1:N - 1], 10.0) / np.log(2)
    span = class_entropy[[0, -1]] / np.log(2)
    assert np.allclose(fractions, span[0] + (span[1] - span[0]) * np.arange(N - 2, 0, -1) / (N - 1), atol=1e-4)


def test_measured_class_entropy_is_made_monotone_and_clipped():
    sigmas = noise.log_sigma_grid(9, 0.1, 10.0)
    noisy = np.array([-0.01, 0.02, 0.01, 0.3, 0.25, 0.6, 0.7, 0.72, 0.71])
    fit = schedules.monotone_class_entropy(sigmas, sigmas, noisy, 2)
    assert np.all(np.diff(fit) >= 0) and fit[0] >= 0 and fit[-1] <= np.log(2)
    assert np.isclose(fit[1], 0.015) and np.isclose(fit[3], 0.275)          # pooled adjacent violators


def test_grid_rejects_a_curve_that_is_not_a_time_change():
    sigmas = noise.log_sigma_grid(5, 0.1, 10.0)
    with pytest.raises(ValueError, match='non-decreasing'):
        schedules.grid_at_equal_steps(sigmas, [0, 1, 0.5, 2, 3], 4)
    with pytest.raises(ValueError, match='does not rise'):
        schedules.grid_at_equal_steps(sigmas, np.ones(5), 4)
    with pytest.raises(ValueError, match='mmse must be > 0'):
        schedules.entropic_time_grid(sigmas, [1, 1, 0, 1, 1], 4)
    with pytest.raises(ValueError, match='strictly increasing'):
        schedules.entropic_time_grid(sigmas[::-1], np.ones(5), 4)


#----------------------------------------------------------------------------
# The deterministic sampler.

@functools.lru_cache(maxsize=None)
def ode_problem(trajectories=200):
    """The exact denoiser of two classes in d = 10, unconditional starts at sigma_max and a Heun reference on 512
    intervals (its own error, ~1e-2 (64/512)^2 = 2e-4, is below a twentieth of the smallest error measured)."""
    den = denoisers.GMMDenoiser(two_class_mixture())
    x_init = SIGMA_MAX * torch.randn(trajectories, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    labels = torch.full((trajectories,), UNCONDITIONAL)
    return den, x_init, labels, sampler.sample_ode(den, schedules.edm_grid(512), labels, x_init)['x']


def convergence_slope(solver, Ns=(8, 16, 32, 64)):
    """(fitted log-log slope, slope of the finest pair) of the RMS error of the final samples against the step
    count N (EDM grid), from the same initial noise, against the reference of ode_problem."""
    den, x_init, labels, reference = ode_problem()
    errors = []
    for N in Ns:
        out = sampler.sample_ode(den, schedules.edm_grid(N), labels, x_init, solver=solver)
        assert out['nfe'] == sampler.ode_evaluations(N, solver) == (2 * N - 1 if solver == 'heun' else N)
        errors.append((out['x'] - reference).square().sum(-1).mean().sqrt().item())
    log_n, log_e = np.log(Ns), np.log(errors)
    return np.polyfit(log_n, log_e, 1)[0], (log_e[-1] - log_e[-2]) / (log_n[-1] - log_n[-2])


def test_heun_on_the_exact_mixture_denoiser_converges_at_second_order():
    # Measured (two classes, d = 10, 200 trajectories): pairwise slopes -2.45, -2.22, -2.12 from N = 8 to 64, the
    # pre-asymptotic excess shrinking like 1/N; the fit over all four is -2.26. The bands admit that excess and
    # exclude first and third order: the fit within 0.35 of -2, the finest pair within 0.15.
    fit, finest = convergence_slope('heun')
    assert abs(fit + 2) < 0.35 and abs(finest + 2) < 0.15


def test_euler_converges_at_first_order():
    # The control: the same measurement with the Euler step alone (deterministic DDIM) gives -1.00 (pairwise
    # -0.99, -1.00, -1.00), so the band of 0.1 separates it from second order.
    fit, finest = convergence_slope('euler')
    assert abs(fit + 1) < 0.1 and abs(finest + 1) < 0.1


def test_sample_ode_counts_guided_calls_and_refuses_an_infinite_start():
    den = denoisers.GMMDenoiser(two_class_mixture())
    x = torch.randn(3, 10, dtype=torch.float64)
    out = sampler.sample_ode(den, schedules.edm_grid(4), torch.zeros(3, dtype=torch.long), x,
                             guidance=sampler.Guidance(scale=2.0))
    assert out['nfe'] == 7 and out['calls'] == 2 * 3 * 7
    with pytest.raises(ValueError, match='finite'):
        sampler.sample_ode(den, [np.inf, 1.0, 0.0], torch.zeros(3, dtype=torch.long), x)


#----------------------------------------------------------------------------
# The mixture quality study.

def test_orthogonal_gain_is_the_exact_linear_flow_in_the_limit():
    # Orthogonal to the means the ODE is dx/dsigma = sigma x / (v0 + sigma^2), whose exact gain from sigma_max to 0
    # is sqrt(v0 / (v0 + sigma_max^2)). Heun's gain converges to it at second order: 4x less error per doubling
    # (measured 4.3, 4.1, 4.1 from 32 to 256 intervals), so the finer of two grids has about a third of their difference as error.
    exact_gain = np.sqrt(1 / (1 + SIGMA_MAX ** 2))
    coarse, fine = (schedule_study.orthogonal_gain(1.0, schedules.edm_grid(N)) for N in (64, 128))
    assert abs(fine - exact_gain) < abs(coarse - fine) / 2
    assert abs(coarse - exact_gain) / abs(fine - exact_gain) > 3


def test_study_metrics_reach_the_exact_sample_floor_and_see_few_steps():
    # With the exact denoiser and exact starts the only error is the discretisation's: on 64 Heun intervals the
    # span KL lies within the 95% intervals of the exact samples' own (5 seeds of 1000), on 3 it is far above.
    mixture = two_class_mixture()
    rows = schedule_study.schedule_quality(mixture, {'edm-3': schedules.edm_grid(3), 'edm-64': schedules.edm_grid(64)},
                                           1000, range(5))
    floor, few, many = rows
    assert floor['schedule'] == 'exact samples' and few['nfe'] == 5 and many['nfe'] == 127
    assert floor['span_kl_lo'] - (many['span_kl_hi'] - many['span_kl']) <= many['span_kl'] \
        <= floor['span_kl_hi'] + (many['span_kl_hi'] - many['span_kl'])
    assert few['span_kl_lo'] > 10 * floor['span_kl_hi']
    assert many['orthogonal_kl'] < 1e-3 < few['orthogonal_kl']


def test_class_kl_measures_a_frequency_error():
    # Samples whose classes come at 0.7 / 0.3 scored against a 0.8 / 0.2 mixture whose components do not overlap
    # (|m|^2 = 40: p(k | x) is 0 or 1 to 1e-9): class_kl is KL(w || f) with f the drawn frequencies, exactly.
    mixture = mixtures.simplex_mixture(2, 10, 4.0, np.random.default_rng(0), weights=[0.8, 0.2])
    span = mixture_estimators.in_span(mixture)
    shifted = mixtures.GaussianMixture(span.means, span.variance, np.array([0.7, 0.3]))
    y, z = shifted.sample(4000, np.random.default_rng(1))
    f = np.bincount(z, minlength=2) / len(z)
    expected = float(np.sum(mixture.weights * np.log(mixture.weights / f)))
    assert np.isclose(schedule_study.sample_metrics(span, y)['class_kl'], expected, rtol=1e-6)


def test_seeds_in_one_batch_give_each_seeds_own_metrics():
    # seed_runs sends every seed's trajectories through the sampler together: each trajectory's ODE is its own,
    # so the batch must change no metric beyond float64 rounding (the matrix products' blocking: ~1e-15 relative).
    mixture = mixtures.simplex_mixture(3, 10, 0.5, np.random.default_rng(4), weights=[0.5, 0.3, 0.2])
    grid = schedules.edm_grid(5)
    together = schedule_study.seed_runs(mixture, grid, 300, [7, 8, 9], 'euler')
    alone = [schedule_study.schedule_run(mixture, grid, 300, seed, 'euler') for seed in (7, 8, 9)]
    for a, b in zip(together, alone):
        assert a.keys() == b.keys() and a['nfe'] == b['nfe'] == 5
        assert all(np.isclose(a[k], b[k], rtol=1e-10, atol=1e-14) for k in a)
    assert len({run['class_kl'] for run in together}) == 3          # three independent sets of starts


def test_a_budget_of_evaluations_gives_each_solver_the_most_steps_it_affords():
    for nfe in range(3, 70):
        for solver in sampler.ODE_SOLVERS:
            steps = schedule_study.solver_steps(nfe, solver)
            assert sampler.ode_evaluations(steps, solver) <= nfe < sampler.ode_evaluations(steps + 1, solver)
    with pytest.raises(ValueError, match='at least 2'):
        schedule_study.solver_steps(2, 'heun')
    with pytest.raises(ValueError, match='solver'):
        schedule_study.solver_steps(8, 'rk4')


def test_named_grids_share_their_ends_and_coincide_without_an_interior_level():
    sigmas, mmse, class_entropy = two_class_curves()
    for N in (2, 6):
        grids = schedules.named_grids(sigmas, mmse, class_entropy, 2, [0.5, 1.0], N)
        assert list(grids) == schedules.grid_names([0.5, 1.0]) == ['edm', 'entropic', 'rescaled', 'semantic-0.5',
                                                                  'semantic-1']
        for grid in grids.values():
            assert len(grid) == N + 1 and grid[-1] == 0 and np.all(np.diff(grid) < 0)
            assert np.isclose(grid[0], SIGMA_MAX) and np.isclose(grid[-2], SIGMA_MIN)
        assert np.allclose(grids['edm'], schedules.edm_grid(N), rtol=1e-12)
        interiors = {name: tuple(np.round(grid[1:-2], 12)) for name, grid in grids.items()}
        assert len(set(interiors.values())) == (1 if N == 2 else 5)     # N = 2: all (sigma_max, sigma_min, 0)


def tidy(values, schedule, metric='class_kl'):
    return [dict(name='m', solver='heun', guidance=1.0, nfe=5, steps=3, schedule=schedule, seed=seed, metric=metric,
                 value=v) for seed, v in enumerate(values)]


def test_the_gain_over_the_baseline_is_paired_by_seed():
    # A schedule 0.1 below EDM on every seed, under a common seed effect 100x larger: unpaired intervals overlap,
    # the paired difference is exactly 0.1 with a zero-width interval. Its sign: > 0 is better, for a metric
    # whose lower value is better (class_kl) and, reversed, for one whose higher value is (accuracy).
    import pandas as pd
    common = np.array([0.0, 10.0, 20.0, 5.0])
    frame = pd.DataFrame(tidy(common + 1.0, 'edm') + tidy(common + 0.9, 'semantic-1')
                         + tidy(common + 1.0, 'edm', 'accuracy') + tidy(common + 0.9, 'semantic-1', 'accuracy'))
    summary = schedule_study.compare(frame).set_index(['metric', 'schedule'])
    row = summary.loc[('class_kl', 'semantic-1')]
    assert row['lo'] < summary.loc[('class_kl', 'edm'), 'mean'] < row['hi']          # unpaired: overlapping
    assert np.isclose(row['gain'], 0.1) and np.isclose(row['gain_lo'], 0.1) and np.isclose(row['gain_hi'], 0.1)
    assert np.isclose(summary.loc[('accuracy', 'semantic-1'), 'gain'], -0.1)
    assert summary.loc[('class_kl', 'edm'), 'gain'] == 0
    verdicts = schedule_study.verdicts(summary.reset_index()).set_index('metric')
    assert verdicts.loc['class_kl', 'best'] == 'semantic-1' and verdicts.loc['class_kl', 'verdict'] == 'better'
    assert verdicts.loc['accuracy', 'best'] == 'edm' and verdicts.loc['accuracy', 'verdict'] == 'best'
    with pytest.raises(ValueError, match=r"baseline 'edm' has no value for seeds \[3\]"):
        schedule_study.compare(frame[~((frame['schedule'] == 'edm') & (frame['seed'] == 3))])


def test_verdicts_call_a_tie_when_the_paired_interval_holds_zero_and_na_when_a_value_is_infinite():
    # Differences +0.1, -0.1, +0.2, -0.1 (mean 0.025): the t interval over 4 seeds holds 0, so the lower mean is no win.
    import pandas as pd
    base = np.array([1.0, 2.0, 3.0, 4.0])
    frame = pd.DataFrame(tidy(base, 'edm') + tidy(base - [0.1, -0.1, 0.2, -0.1], 'rescaled')
                         + tidy(base, 'edm', 'span_kl') + tidy([1.0, np.inf, 3.0, 4.0], 'rescaled', 'span_kl'))
    verdicts = schedule_study.verdicts(schedule_study.compare(frame)).set_index('metric')
    assert verdicts.loc['class_kl', 'best'] == 'rescaled' and verdicts.loc['class_kl', 'verdict'] == 'tie'
    assert verdicts.loc['class_kl', 'gain_lo'] < 0 < verdicts.loc['class_kl', 'gain_hi']
    assert verdicts.loc['span_kl', 'verdict'] == 'n/a'


def test_a_mixtures_study_gives_every_grid_the_same_starts():
    # mixture_study on a small unequal mixture: a row per seed, metric, grid, budget and solver, and the floor.
    # At Heun's 3 evaluations (N = 2) every grid is (sigma_max, sigma_min, 0), so from the same starts every grid
    # must give the same values, bit for bit; at 5 (N = 3) the grids differ and so do the span KLs.
    import pandas as pd
    mixture = mixtures.simplex_mixture(2, 10, 1.0, np.random.default_rng(5), weights=[0.8, 0.2])
    settings = dict(nfe=[3, 5], solvers=['heun', 'euler'], lambdas=[1.0], samples=100, sigma_min=SIGMA_MIN,
                    sigma_max=SIGMA_MAX, mmse=dict(levels=65, points=64, replicates=2))
    frame = pd.DataFrame(schedule_study.mixture_study('m', mixture, settings, [1, 2], 3))
    assert list(frame.columns) == schedule_study.TIDY_COLUMNS
    assert len(frame) == 2 * 3 * (1 + 2 * 2 * 4)          # seeds x metrics x (floor + solvers x budgets x grids)
    heun = frame[frame['solver'] == 'heun'].pivot_table(index=['nfe', 'seed', 'metric'], columns='schedule',
                                                          values='value')
    assert (heun.loc[3].nunique(axis=1) == 1).all()
    assert heun.loc[(5, 1, 'span_kl')].nunique() == 4
    assert set(frame.query("solver == 'heun'")['steps']) == {2, 3} and set(frame.query("solver == 'euler'")['nfe']) == {3, 5}


#----------------------------------------------------------------------------
# The study on a network.

def mixture_data(num_samples=600):
    """Training data of a network on the well-separated mixture k = 4, d = 12 (|m|^2 = 48: the exact Bayes
    classifier, the gmm backend's reference, is right on its own samples to 1e-6)."""
    from entropic.backends.base import Data
    mixture = mixtures.simplex_mixture(4, 12, 4.0, np.random.default_rng(6))
    x, z = mixture.sample(num_samples, np.random.default_rng(7))
    return Data(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(z), 4, mixture)


def test_schedule_metrics_measure_against_the_training_set():
    # A trained backend's schedule metrics: the training set itself is at Frechet distance 0 from itself (the
    # reference is its own features) and classified right; unconditional samples whose classes are exactly
    # uniform have histogram KL 0, samples of one class log K.
    from entropic import backends
    data = mixture_data()
    measure = backends.get('gmm').schedule_metrics(None, {}, data, seed=0, log=None)
    own = measure(data.x.numpy(), data.labels.numpy())
    assert set(own) == {'fd', 'accuracy'} and own['accuracy'] == 1.0 and abs(own['fd']) < 1e-8
    means = np.repeat(data.mixture.means, 5, axis=0)                         # 5 of each class
    uniform = measure(means, np.full(len(means), UNCONDITIONAL))
    assert set(uniform) == {'fd', 'histogram_kl'} and abs(uniform['histogram_kl']) < 1e-12
    single = measure(np.repeat(data.mixture.means[:1], 20, axis=0), np.full(20, UNCONDITIONAL))
    assert np.isclose(single['histogram_kl'], np.log(4))


def test_a_networks_study_samples_every_setting_from_the_same_starts():
    # network_study on the exact denoiser of the mixture, as a model: a row per seed and metric for every grid,
    # budget, solver and setting (class-conditional at each scale, unconditional), with the evaluations the
    # sampler counted, a grid equal to another at its budget measured once; unguided class-conditional samples of
    # the exact denoiser on EDM's grid are classified right at 31 evaluations, and at w = 1 the N = 2 grids
    # coincide, so every grid's values agree there.
    import pandas as pd
    from entropic.backends.base import Model
    data = mixture_data()
    model = Model(denoisers.GMMDenoiser(data.mixture, dtype=torch.float32), [0, 1, 2, 3], (12,), noise.EDMSchedule(), 'cpu')
    rng = np.random.default_rng(8)

    def draw(n):
        rows = torch.as_tensor(rng.integers(0, len(data.labels), n))
        return data.x[rows], data.labels[rows]

    sigmas = noise.log_sigma_grid(65, SIGMA_MIN, SIGMA_MAX)
    curve = (sigmas, exact.mixture_mmse(data.mixture, sigmas, 64, 2, np.random.default_rng(9))['H'])
    settings = dict(nfe=[3, 31], solvers=['heun'], lambdas=[1.0], guidance=[1.0, 2.0], samples=20,
                    mmse=dict(levels=17, samples=64))
    measured = []

    def measure(x, labels):
        measured.append(len(x))
        return {'mean_norm': float(np.linalg.norm(x, axis=1).mean()),
                'right': float(np.mean(data.mixture.log_posterior(x, 0.0).argmax(-1) == labels))}
    frame = pd.DataFrame(schedule_study.network_study('m', model, draw, curve, settings, (SIGMA_MIN, SIGMA_MAX),
                                                      [1, 2], measure, 3))
    assert len(frame) == 2 * 2 * 2 * 4 * 3                # seeds x metrics x budgets x grids x settings
    # the four N = 2 grids are one grid, sampled and measured once per setting and seed; the N = 16 ones differ
    assert measured == [20] * (2 * 3 * (1 + 4))
    assert set(frame['name']) == {'m, class-conditional', 'm, unconditional'}
    assert set(frame['nfe']) == {3, 31} and set(frame['guidance']) == {1.0, 2.0}
    right = frame.query("name == 'm, class-conditional' and guidance == 1 and nfe == 31 and metric == 'right' and "
                        "schedule == 'edm'")
    assert (right['value'] == 1.0).all()
    first = frame.query("nfe == 3 and guidance == 1").pivot_table(index=['name', 'seed', 'metric'], columns='schedule',
                                                                   values='value')
    assert (first.nunique(axis=1) == 1).all()


def test_a_pretrained_models_mmse_is_measured_on_its_unconditional_samples(tmp_path):
    # A downloaded model has no training data: own_samples gathers, from every shard of the source run, the final
    # samples of the unconditional model (label -1) and nothing else, in shard order; a run without any is named.
    from entropic.files import store
    x = np.arange(2 * 6 * 3, dtype=np.float32).reshape(2, 6, 3)
    labels = np.array([0, 1, UNCONDITIONAL, 0, 1, UNCONDITIONAL])
    paths = [tmp_path / f'shard-{i}.npz' for i in range(2)]
    for path, xs in zip(paths, x):
        store.save_npz(path, x=xs, labels=labels)
    x0, x0_labels = schedule_study.own_samples(paths)
    assert x0.dtype == torch.float32 and (x0_labels == UNCONDITIONAL).all()
    np.testing.assert_array_equal(x0.numpy(), np.concatenate([xs[labels == UNCONDITIONAL] for xs in x]))
    store.save_npz(paths[1], x=x[1], labels=np.zeros(6, dtype=np.int64))
    store.save_npz(paths[0], x=x[0], labels=np.zeros(6, dtype=np.int64))
    with pytest.raises(ValueError, match='no final sample of the unconditional model'):
        schedule_study.own_samples(paths)


@pytest.mark.slow
def test_a_pretrained_models_schedule_metrics_are_fid_and_fd_dinov2_of_the_decoded_images(tmp_path):
    # The schedule study measures a latent model's samples as its guidance study does (decoded, quantised, in
    # Inception's and DINOv2's features): against statistics of the features of the very same images both
    # Frechet distances vanish, tr(C) + tr(C) - 2 tr(C) with C the samples' covariance, up to rounding: the
    # centred rows' zero eigenvalue comes out of eigvalsh as about eps lambda_max^2, whose root, counted twice, is
    # up to 2 sqrt(eps) lambda_max <= 2 sqrt(eps) tr(C) (a factor 2 above for the other terms); against other
    # statistics they do not.
    import logging

    from tests.support import edm2_synthetic
    from tests.support import feature_synthetic
    from entropic import backends
    from entropic.networks import dinov2, inception
    from entropic.studies import image_metrics as M
    edm2_synthetic.write_tiny_vae(tmp_path / 'vae')
    files = {'vae': [str(tmp_path / 'vae' / 'config.json')],
             'inception': str(feature_synthetic.write_inception(tmp_path / 'fid')),
             'dinov2': [str(feature_synthetic.write_dinov2(tmp_path / 'dinov2') / 'config.json')]}
    backend, log = backends.get('edm2'), logging.getLogger(__name__)
    eps = np.finfo(np.float64).eps
    latents = torch.randn(12, 4, 8, 8, generator=torch.Generator().manual_seed(0)).numpy()
    labels = np.full(12, UNCONDITIONAL)
    images = M.to_uint8(backend.load_decoder(files, 'cpu')(latents))
    networks = {'fid': inception.load_inception(files['inception']),
                'fd_dinov2': dinov2.load_dinov2(tmp_path / 'dinov2')}
    features = M.image_features(networks, [images])
    M.write_reference(tmp_path / 'own.npz', {m: M.statistics(f) for m, f in features.items()}, len(latents))
    own = backend.schedule_metrics({'batch': 5}, dict(files, statistics=str(tmp_path / 'own.npz')), None, 0, log)
    values = own(latents, labels)
    assert set(values) == {'fid', 'fd_dinov2'}
    for metric, f in features.items():
        assert abs(values[metric]) <= 4 * np.sqrt(eps) * np.trace(np.cov(f, rowvar=False)), (metric, values[metric])
    feature_synthetic.write_reference_pickle(tmp_path / 'other.pkl')
    other = backend.schedule_metrics({'batch': 5}, dict(files, statistics=str(tmp_path / 'other.pkl')), None, 0, log)
    assert all(value > 1 for value in other(latents, labels).values())
