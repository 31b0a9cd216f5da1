"""Exact entropy: against brute-force quadrature, endpoints, the two-class closed form, I-MMSE rate."""

import numpy as np
import pytest

from entropic.theory import exact, mixtures, closed_forms
from entropic.theory import partitions as P


def planar_mixture():
    """Three unequal components in d = 2 with arbitrary means: small enough for quadrature on a grid."""
    means = np.array([[0.0, 0.0], [2.5, 0.5], [0.8, -2.0]])
    return mixtures.GaussianMixture(means, variance=0.6, weights=np.array([0.5, 0.3, 0.2]))


def quadrature_posterior(mixture, sigma, cells):
    """(density p(x) [n], cell posterior [n, C], cell area) on a fine grid in the plane, independent of the library."""
    members = P.in_play(cells, mixture.num_components)
    w = mixture.weights[members] / mixture.weights[members].sum()
    means = mixture.means[members]
    v = mixture.variance + sigma ** 2
    step = np.sqrt(v) / 10
    lo, hi = means.min(0) - 9 * np.sqrt(v), means.max(0) + 9 * np.sqrt(v)
    gx, gy = np.arange(lo[0], hi[0], step), np.arange(lo[1], hi[1], step)
    x = np.stack(np.meshgrid(gx, gy, indexing='ij'), -1).reshape(-1, 2)
    dens = w * np.exp(-((x[:, None] - means) ** 2).sum(-1) / (2 * v)) / (2 * np.pi * v)   # [n, K] joint
    p_x = dens.sum(1)
    index = {int(k): i for i, k in enumerate(members)}
    cell_joint = np.stack([dens[:, [index[k] for k in cell]].sum(1) for cell in cells], 1)
    post = cell_joint / np.maximum(p_x, 1e-300)[:, None]
    return p_x, post, step ** 2


def quadrature_entropy(mixture, sigma, cells):
    """H[f(Z) | X_sigma] by the trapezoid rule on a fine grid in the plane."""
    p_x, post, area = quadrature_posterior(mixture, sigma, cells)
    h = -np.where(post > 0, post * np.log(np.where(post > 0, post, 1)), 0).sum(1)
    return (p_x * h).sum() * area


def quadrature_collision(mixture, sigma, cells):
    """phi = E sum_c P(c | X_sigma)^2 by the trapezoid rule on the same grid."""
    p_x, post, area = quadrature_posterior(mixture, sigma, cells)
    return (p_x * (post ** 2).sum(1)).sum() * area


def partition_curve(mixture, sigmas, cells, num_points, num_replicates, rng):
    return exact.exact_entropy_curve(mixture.project(), sigmas, exact.Hypotheses.from_partition(mixture.weights, cells),
                                     num_points, num_replicates, rng)


CELLS = {'classes': [[0], [1], [2]], 'merged': [[0, 1], [2]], 'pair out of play': [[0], [2]]}


@pytest.mark.parametrize('name', list(CELLS))
def test_exact_entropy_matches_quadrature(name):
    mixture = planar_mixture()
    sigmas = np.array([0.1, 0.5, 1.0, 2.0, 4.0])
    curve = partition_curve(mixture, sigmas, CELLS[name], 512, 16, np.random.default_rng(0))
    reference = np.array([quadrature_entropy(mixture, s, CELLS[name]) for s in sigmas])
    # Quadrature error is < 1e-8 here; the Monte Carlo estimate must sit within 4 standard errors.
    assert np.all(np.abs(curve['H'] - reference) <= 4 * curve['H_se'] + 1e-8), (curve['H'], reference, curve['H_se'])
    assert curve['H_se'].max() < 2e-3


@pytest.mark.parametrize('name', list(CELLS))
def test_collision_probability_matches_quadrature(name):
    # phi from the same posterior as H: the quadrature's error is < 1e-8 here, the estimate within 4 SE.
    mixture = planar_mixture()
    sigmas = np.array([0.1, 0.5, 1.0, 2.0, 4.0])
    curve = partition_curve(mixture, sigmas, CELLS[name], 512, 16, np.random.default_rng(0))
    reference = np.array([quadrature_collision(mixture, s, CELLS[name]) for s in sigmas])
    assert np.all(np.abs(curve['phi'] - reference) <= 4 * curve['phi_se'] + 1e-8), (curve['phi'], reference)
    assert curve['phi_samples'].shape == (5, 16)
    # Between 1 / C (no information) and 1 (certain); near 1 at sigma = 0.1, near 1 / C far above the means.
    assert np.all((curve['phi'] >= 1 / len(CELLS[name]) - 1e-12) & (curve['phi'] <= 1 + 1e-12))
    assert curve['phi'][0] > curve['phi'][-1]


@pytest.mark.parametrize('name', list(CELLS))
def test_exact_rate_is_derivative_of_entropy(name):
    # I-MMSE: dH/dlog sigma from denoiser differences equals the derivative of the quadrature entropy.
    mixture = planar_mixture()
    sigmas = np.array([0.3, 1.0, 2.5])
    curve = partition_curve(mixture, sigmas, CELLS[name], 512, 16, np.random.default_rng(1))
    h = 1e-3
    numeric = np.array([(quadrature_entropy(mixture, s * np.exp(h), CELLS[name]) -
                         quadrature_entropy(mixture, s * np.exp(-h), CELLS[name])) / (2 * h) for s in sigmas])
    assert np.all(np.abs(curve['rate'] - numeric) <= 4 * curve['rate_se'] + 1e-5), (curve['rate'], numeric)


def test_endpoints_log_k_at_high_noise_zero_at_low_noise():
    K = 10
    mixture = mixtures.simplex_mixture(K, 10_000, 1.0, np.random.default_rng(2))
    curve = partition_curve(mixture, np.array([1e-3, 1e6]), P.identity_partition(K),
                                      256, 8, np.random.default_rng(3))
    # At sigma = 1e6 the SNR is |m|^2 / sigma^2 = 1e-8: H = log K up to O(1e-8).
    assert abs(curve['H'][1] - np.log(K)) <= 4 * curve['H_se'][1] + 1e-6
    # At sigma = 1e-3 the classes are separated by ~140 noise standard deviations.
    assert curve['H'][0] < 1e-12
    assert np.all(np.isfinite(curve['rate']))


@pytest.mark.parametrize('dim', [10, 10_000, 1_000_000])
def test_two_class_matches_closed_form(dim):
    mixture = mixtures.simplex_mixture(2, dim, 1.0, np.random.default_rng(4))
    sigma_s = closed_forms.speciation_sigma(mixture.covariance_top_eigenvalue())
    sigmas = sigma_s * np.logspace(-1, 1, 9)
    curve = partition_curve(mixture, sigmas, [[0], [1]], 512, 16, np.random.default_rng(5))
    closed = closed_forms.two_class_entropy(sigmas, mean_sq_norm=dim)
    closed_rate = closed_forms.two_class_rate(sigmas, mean_sq_norm=dim) * sigmas
    # Where H < 1e-6 the entropy is carried by rare draws (probability ~ e^{-s/2}) that neither the
    # quasi-Monte Carlo points nor its standard error see: a floor of 1e-6 nats covers that regime.
    assert np.all(np.abs(curve['H'] - closed) <= 4 * curve['H_se'] + 1e-6)
    assert np.all(np.abs(curve['rate'] - closed_rate) <= 4 * curve['rate_se'] + 1e-6)
    # The collision probability: 1 - phi is carried by the same rare draws near 0 nats, hence the same floor.
    closed_phi = closed_forms.two_class_collision(sigmas, mean_sq_norm=dim)
    assert np.all(np.abs(curve['phi'] - closed_phi) <= 4 * curve['phi_se'] + 1e-6)


def test_k10_standard_error_target_at_default_settings():
    # The benchmark's accuracy target: SE below 0.002 nats at every level with 16 x 512 points.
    mixture = mixtures.simplex_mixture(10, 10_000, 1.0, np.random.default_rng(6))
    sigma_s = closed_forms.speciation_sigma(mixture.covariance_top_eigenvalue())
    sigmas = sigma_s * np.logspace(-1, 1, 16)
    curve = partition_curve(mixture, sigmas, P.identity_partition(10), 512, 16,
                                      np.random.default_rng(7))
    assert curve['H_se'].max() < 0.002
    assert np.all(np.diff(curve['H']) > 0)   # entropy grows with noise


def test_coarse_partition_resolves_at_higher_noise_than_fine():
    mixture = mixtures.hierarchical_mixture(3, 3, 1000, 2.0, 0.05, np.random.default_rng(8))
    sigmas = np.logspace(-1, 3, 33)
    coarse = partition_curve(mixture, sigmas, [[0, 1, 2], [3, 4, 5], [6, 7, 8]], 128, 8,
                                       np.random.default_rng(9))
    fine = partition_curve(mixture, sigmas, [[0], [1], [2]], 128, 8, np.random.default_rng(9))
    assert sigmas[np.argmax(coarse['rate'])] > 3 * sigmas[np.argmax(fine['rate'])]


def test_same_seed_same_curve():
    mixture = planar_mixture()
    a = partition_curve(mixture, [0.5, 1.0], CELLS['classes'], 64, 4, np.random.default_rng(10))
    b = partition_curve(mixture, [0.5, 1.0], CELLS['classes'], 64, 4, np.random.default_rng(10))
    c = partition_curve(mixture, [0.5, 1.0], CELLS['classes'], 64, 4, np.random.default_rng(11))
    assert np.array_equal(a['H'], b['H']) and not np.array_equal(a['H'], c['H'])


def test_rejects_points_that_are_not_a_power_of_two():
    with pytest.raises(ValueError, match='power of 2'):
        exact.gaussian_qmc_points(4, 100, 2, np.random.default_rng(0))
