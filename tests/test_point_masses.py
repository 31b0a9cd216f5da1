"""Exact entropy of a finite training set: against the two-class closed form, the Gaussian-mixture
quadrature of exact.py, and its own I-MMSE rate."""

import numpy as np
import pytest
from scipy.integrate import trapezoid

from entropic.theory import point_masses, exact, mixtures, closed_forms
from entropic.theory.partitions import UNCONDITIONAL

SIGMAS = np.geomspace(0.05, 20, 24)


def tolerance(se, num_samples):
    """4 standard errors, plus 1 / N: where the entropy is carried by events rarer than 1 / N (deep in the
    low-noise tail) the sample spread underestimates the error of an unbiased Monte Carlo mean."""
    return 4 * se + 1 / num_samples


def test_two_points_follow_the_two_class_closed_form():
    # Two point masses +-m are two classes with component variance 0: H = HH(|m|^2 / sigma^2).
    m = np.array([1.2, -0.5, 0.3])
    points, labels = np.stack([m, -m]), np.array([0, 1])
    curve = point_masses.empirical_entropy_curve(points, point_masses.class_hypotheses(labels, [[0], [1]]), SIGMAS,
                                              4000, np.random.default_rng(0))
    truth = closed_forms.two_class_entropy(SIGMAS, m @ m, variance=0.0)
    assert np.all(np.abs(curve['H'] - truth) <= tolerance(curve['H_se'], 4000))
    rate_truth = closed_forms.two_class_rate(SIGMAS, m @ m, variance=0.0) * SIGMAS
    assert np.all(np.abs(curve['rate'] - rate_truth) <= tolerance(curve['rate_se'], 4000))
    phi_truth = closed_forms.two_class_collision(SIGMAS, m @ m, variance=0.0)
    assert np.all(np.abs(curve['phi'] - phi_truth) <= tolerance(curve['phi_se'], 4000))


@pytest.mark.slow
@pytest.mark.parametrize('cells', [[[0], [1], [2]], [[0, 1], [2]], [[1], [UNCONDITIONAL]]],
                         ids=['classes', 'merged', 'class-vs-reference'])
def test_matches_exact_quadrature_of_the_same_point_set(cells):
    # Six points in three classes; exact.py with a vanishing component variance is the same mixture,
    # computed by quasi-Monte Carlo in the span of the points: an independent code path.
    rng = np.random.default_rng(1)
    points = rng.normal(size=(6, 4)) * 1.5
    labels = np.array([0, 0, 1, 1, 2, 2])
    hypotheses = point_masses.class_hypotheses(labels, cells)
    curve = point_masses.empirical_entropy_curve(points, hypotheses, SIGMAS, 6000, np.random.default_rng(2))
    mixture = mixtures.GaussianMixture(points, variance=1e-12, weights=np.full(6, 1 / 6))
    reference = exact.exact_entropy_curve(mixture.project(), SIGMAS, hypotheses, 4096, 8, np.random.default_rng(3))
    se = np.hypot(curve['H_se'], reference['H_se'])
    assert np.all(np.abs(curve['H'] - reference['H']) <= tolerance(se, 6000))
    rate_se = np.hypot(curve['rate_se'], reference['rate_se'])
    assert np.all(np.abs(curve['rate'] - reference['rate']) <= tolerance(rate_se, 6000))
    phi_se = np.hypot(curve['phi_se'], reference['phi_se'])
    assert np.all(np.abs(curve['phi'] - reference['phi']) <= tolerance(phi_se, 6000))
    assert curve['phi_samples'].shape == (len(SIGMAS), 6000)


def test_rate_integrates_to_the_entropy_drop():
    # I-MMSE: H(sigma_hi) - H(sigma_lo) = int rate dlog sigma, per sample (common random numbers).
    rng = np.random.default_rng(4)
    points, labels = rng.normal(size=(30, 5)), np.repeat(np.arange(3), 10)
    sigmas = np.geomspace(0.02, 50, 400)
    curve = point_masses.empirical_entropy_curve(points, point_masses.class_hypotheses(labels, [[0], [1], [2]]), sigmas,
                                              500, np.random.default_rng(5))
    drop = curve['H_samples'][-1] - curve['H_samples'][0]
    integral = trapezoid(curve['rate_samples'], np.log(sigmas), axis=0)
    # Per-sample equality fails (a single path is not an expectation); the means agree within their SE.
    difference = drop - integral
    assert abs(difference.mean()) <= 4 * difference.std(ddof=1) / np.sqrt(len(difference)) + 2e-3


def test_endpoints_and_top_eigenvalue():
    rng = np.random.default_rng(6)
    points, labels = rng.normal(size=(40, 3)) * 3, np.repeat(np.arange(4), 10)
    curve = point_masses.empirical_entropy_curve(points, point_masses.class_hypotheses(labels, [[0], [1], [2], [3]]),
                                              [1e-3, 1e4], 300, np.random.default_rng(7))
    assert curve['H'][0] < 1e-6 and abs(curve['H'][1] - np.log(4)) < 1e-3
    assert np.isclose(point_masses.top_eigenvalue(points), np.linalg.eigvalsh(np.cov(points.T, bias=True))[-1])
