"""Window-placed guidance and the metrics of the guidance study, against closed forms and exact mixtures."""

import math

import numpy as np
import pandas as pd
import pytest

from entropic.theory import mixtures
from entropic.studies import guidance_study, sample_metrics
from entropic.method import placement, sampler


def test_window_interval_widens_about_the_centre_in_log_sigma():
    lo, hi = placement.window_interval(math.log(0.5), math.log(2.0))
    assert (lo, hi) == pytest.approx((0.5, 2.0))
    lo, hi = placement.window_interval(math.log(0.5), math.log(2.0), widen=2.0)
    assert (lo, hi) == pytest.approx((0.25, 4.0))
    with pytest.raises(ValueError, match='no finite window'):
        placement.window_interval(1.0, float('nan'))


def test_rate_weighted_guidance_follows_the_rate_and_vanishes_outside_the_curve():
    sigma = np.array([0.1, 1.0, 10.0])
    guidance = sampler.Guidance(scale=5.0, profile=placement.rate_profile(sigma, [0.0, 2.0, 1.0]))
    assert guidance.scale_at(1.0) == pytest.approx(5.0)              # the peak: full scale
    assert guidance.scale_at(10.0) == pytest.approx(3.0)             # half the rate: half the extra weight
    assert guidance.scale_at(math.sqrt(10.0)) == pytest.approx(4.0)  # linear in log sigma between levels
    assert guidance.scale_at(0.1) == 1.0 and guidance.scale_at(50.0) == 1.0
    assert guidance.describe() == 'weighted by dH/dlog σ'


def test_placed_guidance_reads_the_window_of_the_named_partition():
    windows = pd.DataFrame([dict(partition='classes', coordinate='log_sigma', width_low=0.0, width_high=1.0),
                            dict(partition='classes', coordinate='t', width_low=5.0, width_high=6.0)])
    curve = pd.DataFrame(dict(partition='classes', sigma=[1.0, 2.0], rate=[1.0, 0.5]))
    g = placement.placed_guidance(3.0, {'widen': 1.0}, windows, curve)
    assert (g.scale, g.sigma_lo, g.sigma_hi) == pytest.approx((3.0, 1.0, math.e))
    with pytest.raises(ValueError, match="no window for partition 'pairs'"):
        placement.placed_guidance(3.0, {'partition': 'pairs'}, windows, curve)


def test_a_window_edge_beyond_the_curve_runs_to_the_curve_end():
    # The rate is still above half its peak at the top of the curve: no upper FWHM crossing (NaN).
    windows = pd.DataFrame([dict(partition='classes', coordinate='log_sigma', width_low=0.0, width_high=np.nan)])
    curve = pd.DataFrame(dict(partition='classes', sigma=[0.5, 1.0, 14.6], rate=[0.1, 0.6, 1.0]))
    g = placement.placed_guidance(3.0, {}, windows, curve)
    assert (g.sigma_lo, g.sigma_hi) == pytest.approx((1.0, 14.6))
    both = pd.DataFrame([dict(partition='classes', coordinate='log_sigma', width_low=np.nan, width_high=np.nan)])
    with pytest.raises(ValueError, match='no finite window'):
        placement.placed_guidance(3.0, {}, both, curve)


def test_guidance_spent_is_the_guided_length_in_log_sigma():
    sigmas = np.append(np.exp(np.linspace(np.log(80), np.log(0.002), 400)), 0.0)
    full = guidance_study.guidance_spent(sampler.Guidance(scale=2.0), sigmas)
    assert full == pytest.approx(math.log(80 / 0.002), rel=1e-2)
    inside = guidance_study.guidance_spent(sampler.Guidance(scale=2.0, sigma_lo=0.5, sigma_hi=2.0), sigmas)
    assert inside == pytest.approx(math.log(4.0), abs=2 * math.log(80 / 0.002) / 399)   # one step either side
    assert guidance_study.guidance_spent(sampler.Guidance(), sigmas) == 0.0


def frechet_rounding_bound(cov_a, cov_b):
    """Bound on the float64 rounding error of sample_metrics.frechet_distance for d x d covariances known to
    a few eps |C| (as products computed by any BLAS are): a backward-stable eigensolver gives the eigenvalues
    of C_a^1/2 C_b C_a^1/2 to delta = d eps |C_a| |C_b| (2-norms); a square root moves by at most sqrt(delta)
    (the worst case, an eigenvalue 0, is where singular covariances put it); the trace of the root sums d of
    them, doubled in the distance: 2 d sqrt(delta). The traces and the mean term carry only d eps |C|."""
    d = len(cov_a)
    delta = d * np.finfo(float).eps * np.linalg.norm(cov_a, 2) * np.linalg.norm(cov_b, 2)
    return 2 * d * math.sqrt(delta)


def test_frechet_distance_matches_the_closed_form_for_commuting_covariances_and_singular_ones():
    rng = np.random.default_rng(0)
    q = np.linalg.qr(rng.standard_normal((5, 5)))[0]
    a, b = np.array([1.0, 2.0, 0.5, 3.0, 0.0]), np.array([2.0, 1.0, 0.5, 1.0, 4.0])   # singular: a zero variance
    ma, mb = rng.standard_normal(5), rng.standard_normal(5)
    exact = np.sum((ma - mb) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    cov_a, cov_b = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    # Another BLAS rounds the products above (and those inside frechet_distance) differently: the same
    # covariances up to a symmetric perturbation of eps |C| per entry. The distance must hold for all of them,
    # within the rounding bound (~1.2e-6 here; the root of the zero eigenvalue dominates it, so a tolerance
    # of 1e-9 passed or failed with the BLAS kernel; the largest error over 2,000 perturbations: 0.17 bound).
    tolerance, tolerance_same = frechet_rounding_bound(cov_a, cov_b), frechet_rounding_bound(cov_a, cov_a)
    for seed in range(8):
        e = np.random.default_rng(seed).standard_normal((2, 5, 5))
        e = np.finfo(float).eps * (e + e.transpose(0, 2, 1)) / 2
        perturbed_a, perturbed_b = cov_a + a.max() * e[0], cov_b + b.max() * e[1]
        fd = sample_metrics.frechet_distance(ma, perturbed_a, mb, perturbed_b)
        assert fd == pytest.approx(exact, abs=tolerance)
        assert sample_metrics.frechet_distance(ma, perturbed_a, ma, cov_a) == pytest.approx(0, abs=tolerance_same)


def test_frechet_distance_of_fewer_samples_than_dimensions_matches_the_closed_form():
    # Four rows m_a +- s_i q_i (q_i orthonormal): their covariance (n - 1) is sum 2 s_i^2 / 3 q_i q_i^T, rank 2
    # in d = 6, and commutes with C_b = Q diag(b) Q^T: the distance is |m_a - m_b|^2 + sum (sqrt a_i - sqrt b_i)^2.
    rng = np.random.default_rng(2)
    q = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    s, b = np.array([1.5, 0.7]), np.array([2.0, 1.0, 0.5, 1.0, 4.0, 0.3])
    ma, mb = rng.standard_normal(6), rng.standard_normal(6)
    rows = ma + np.stack([s[0] * q[:, 0], -s[0] * q[:, 0], s[1] * q[:, 1], -s[1] * q[:, 1]])
    a = np.concatenate([2 * s ** 2 / 3, np.zeros(4)])
    exact = np.sum((ma - mb) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    cov_a, cov_b = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    fd = sample_metrics.frechet_distance_of_samples(rows, mb, cov_b)
    assert fd == pytest.approx(exact, abs=frechet_rounding_bound(cov_a, cov_b))
    # n >= d goes through the covariance; both routes agree on random rows, within the same bound
    many = rng.standard_normal((9, 6))
    assert sample_metrics.frechet_distance_of_samples(many[:5], mb, cov_b) == pytest.approx(
        sample_metrics.frechet_distance(many[:5].mean(0), np.cov(many[:5], rowvar=False), mb, cov_b),
        abs=frechet_rounding_bound(np.cov(many[:5], rowvar=False), cov_b))
    assert sample_metrics.frechet_distance_of_samples(many, mb, cov_b) == \
        sample_metrics.frechet_distance(many.mean(0), np.cov(many, rowvar=False), mb, cov_b)
    with pytest.raises(ValueError, match='1 feature rows'):
        sample_metrics.frechet_distance_of_samples(many[:1], mb, cov_b)


def test_precision_and_recall_are_one_for_the_same_set_and_zero_for_far_sets():
    rng = np.random.default_rng(1)
    real = rng.standard_normal((60, 4))
    assert sample_metrics.precision_recall(real, real.copy(), k=3) == (1.0, 1.0)
    assert sample_metrics.precision_recall(real, real + 100.0, k=3) == (0.0, 0.0)
    # Fakes collapsed onto one real point: precise (inside the real manifold) but with little recall.
    precision, recall = sample_metrics.precision_recall(real, np.repeat(real[:1], 10, 0) + 1e-6, k=3)
    assert precision == 1.0 and recall < 0.2


def test_mixture_metrics_of_exact_samples_and_of_shifted_ones():
    """Exact samples: Bayes accuracy within 4 SE and a KL within its small-sample bias; a known shift of every
    sample by delta adds |delta|^2 / (2 v0) nats."""
    mixture = mixtures.simplex_mixture(num_components=4, dim=30, signal_per_dim=0.1, rng=np.random.default_rng(2))
    rng = np.random.default_rng(3)
    n = 4000
    labels = np.tile(np.arange(4), n // 4)
    x = mixture.means[labels] + math.sqrt(mixture.variance) * rng.standard_normal((n, mixture.dim))
    metrics = sample_metrics.mixture_metrics(mixture, x, labels)
    bayes = np.exp(mixture.log_posterior(x, 0.0)).max(1)     # P(argmax is right | x): the Bayes accuracy's integrand
    assert 0.5 < bayes.mean() < 0.99                            # overlapping classes: the accuracy is informative
    assert abs(metrics['accuracy'] - bayes.mean()) < 4 * math.sqrt(bayes.mean() * (1 - bayes.mean()) / n)
    r, per_class = 3, n // 4
    # Bias-corrected: zero up to its noise, whose largest part is the mean term's, sd sqrt(2 d) / (2 n) per class.
    assert abs(metrics['kl']) < 4 * math.sqrt(2 * mixture.dim) / (2 * per_class) + 2 * (r + 1) / per_class ** 2
    delta = np.zeros(mixture.dim)
    delta[7] = 0.8
    shifted = sample_metrics.mixture_metrics(mixture, x + delta, labels)
    # The cross term delta.(mean - m) / v0 has standard deviation |delta| / sqrt(v0 n) over the n samples.
    tolerance = 4 * 0.8 / math.sqrt(mixture.variance * n)
    assert shifted['kl'] - metrics['kl'] == pytest.approx(0.8 ** 2 / (2 * mixture.variance), abs=tolerance)


def test_replicate_metrics_use_disjoint_class_balanced_folds():
    labels = np.tile(np.arange(3), 20)
    x = np.arange(60, dtype=float)[:, None]
    seen = []

    def metrics(xf, yf):
        seen.append(xf[:, 0].copy())
        assert np.bincount(yf).tolist() == [4, 4, 4]
        return dict(mean=float(xf.mean()))

    out = sample_metrics.replicate_metrics(metrics, x, labels, folds=5)
    assert sorted(np.concatenate(seen).tolist()) == list(range(60))      # every sample in exactly one fold
    assert out['mean_lo'] < out['mean'] < out['mean_hi'] and out['mean'] == pytest.approx(29.5)


def _row(method, scale, **metrics):
    """An evaluation-table row: each metric (value, half-width of its 95% CI)."""
    row = dict(method=method, scale=scale)
    for name, (value, half) in metrics.items():
        row.update({name: value, f'{name}_lo': value - half, f'{name}_hi': value + half})
    return row


def test_only_keeps_the_metrics_asked_for_and_names_one_not_measured():
    metrics = lambda x, labels: {'accuracy': 0.5, 'kl': float(np.sum(x))}      # noqa: E731
    x, labels = np.ones(3), np.zeros(3)
    assert sample_metrics.only(metrics, ['kl'])(x, labels) == {'kl': 3.0}
    assert sample_metrics.only(metrics, None) is metrics
    with pytest.raises(ValueError, match=r"no metric \['fd'\]: these samples are measured by \['accuracy', 'kl'\]"):
        sample_metrics.only(metrics, ['fd'])(x, labels)


def test_verdicts_compare_placed_methods_with_the_best_cfg_and_the_tuned_interval_by_their_intervals():
    table = pd.DataFrame([
        _row('unguided', 1.0, fd=(9.0, 0.5), recall=(0.9, 0.01)),
        _row('cfg-2', 2.0, fd=(5.0, 0.5), recall=(0.7, 0.01)),
        _row('cfg-4', 4.0, fd=(4.0, 0.5), recall=(0.5, 0.01)),        # the best CFG by fd (lower is better)
        _row('interval-best', 4.0, fd=(3.0, 0.2), recall=(0.8, 0.01)),
        _row('window', 4.0, fd=(2.0, 0.5), recall=(0.8, 0.02)),         # fd: better than both; recall: tie with interval
        _row('rate', 4.0, fd=(3.5, 0.6), recall=(0.4, 0.01)),           # fd: tie with cfg-4 and interval; recall: worse
    ])
    v = guidance_study.verdicts(table, 'fd', ['fd', 'recall']).set_index(['method', 'against', 'metric'])['verdict']
    assert set(v.index.get_level_values('against')) == {'cfg-4', 'interval-best'}
    assert v['window', 'cfg-4', 'fd'] == 'better' and v['window', 'interval-best', 'fd'] == 'better'
    assert v['window', 'cfg-4', 'recall'] == 'better' and v['window', 'interval-best', 'recall'] == 'tie'
    assert v['rate', 'cfg-4', 'fd'] == 'tie' and v['rate', 'interval-best', 'fd'] == 'tie'
    assert v['rate', 'cfg-4', 'recall'] == 'worse' and v['rate', 'interval-best', 'recall'] == 'worse'
    assert len(v) == 2 * 2 * 2       # two placed methods, two rivals, two metrics; unguided and CFG are not judged


def test_sweep_table_measures_the_shift_and_the_share_of_the_drop_above_the_unguided_half_point():
    """Logistic curves H = log 2 s(log sigma - c), s(u) = 1 / (1 + exp(-u)), on log sigma in [-8, 8]: the half
    point is c, and the share of the drop of a curve centred at c above the level exp(c0) is
    (s(8 - c) - s(c0 - c)) / (s(8 - c) - s(-8 - c)), up to the grid's linear interpolation (steps of 1e-4 in
    log sigma; its error is below 1e-8 of the share)."""
    from entropic.method.runs import Run
    log_sigma = np.linspace(-8, 8, 160001)
    centres = {'unguided': 0.0, 'cfg': 0.7}
    curves = {name: pd.DataFrame(dict(sigma=np.exp(log_sigma), H=np.log(2) / (1 + np.exp(-(log_sigma - c))),
                                      readout='entropy' if name == 'unguided' else 'cross-entropy'))
              for name, c in centres.items()}
    windows = {name: pd.Series(dict(half_entropy=c, half_entropy_lo=c - 0.1, half_entropy_hi=c + 0.1, peak=c,
                                    peak_lo=c - 0.2, peak_hi=c + 0.2)) for name, c in centres.items()}
    runs = {'unguided': Run('unguided'), 'cfg': Run('cfg', scale=4.0, interval=(0.5, 80.0))}
    table = guidance_study.sweep_table(runs, curves, windows).set_index('variant')
    assert table.loc['cfg', 'shift_log_sigma'] == pytest.approx(0.7)
    s = lambda u: 1 / (1 + math.exp(-u))
    for name, c in centres.items():
        exact = (s(8 - c) - s(-c)) / (s(8 - c) - s(-8 - c))
        assert table.loc[name, 'share_above_unguided_half'] == pytest.approx(exact, abs=1e-7)
    assert table.loc['cfg', 'half_sigma'] == pytest.approx(math.exp(0.7))
    assert table.loc['cfg', 'interval'] == '(0.5, 80]' and table.loc['cfg', 'readout'] == 'cross-entropy'
    assert table.loc['cfg', 'placement'] == 'σ ∈ (0.5, 80]'
