"""Gaussian mixtures: exact denoisers (Tweedie), posteriors, projection, covariance, constructors."""

import numpy as np
import pytest
from scipy.special import logsumexp

from entropic.theory import mixtures


def small_mixture(dim=3, seed=0):
    """Three components with unequal weights and arbitrary (non-simplex) means."""
    rng = np.random.default_rng(seed)
    return mixtures.GaussianMixture(rng.normal(0, 2, (3, dim)), variance=0.7, weights=np.array([0.2, 0.3, 0.5]))


def log_marginal(mixture, x, sigma):
    """log p_sigma(x), written out independently of the library."""
    v = mixture.variance + sigma ** 2
    sq = ((x[:, None, :] - mixture.means[None]) ** 2).sum(-1)
    return logsumexp(np.log(mixture.weights) - sq / (2 * v), axis=1) - mixture.dim / 2 * np.log(2 * np.pi * v)


@pytest.mark.parametrize('sigma', [0.05, 0.8, 5.0])
def test_unconditional_denoiser_is_tweedie(sigma):
    # D(x) = x + sigma^2 grad log p_sigma(x) (Tweedie; EDM, Karras et al. 2022, arXiv:2206.00364, eq. 3), the gradient by central differences.
    mixture = small_mixture()
    x, _ = mixture.sample(5, np.random.default_rng(1), sigma=sigma)
    h = 1e-5
    grad = np.stack([(log_marginal(mixture, x + h * e, sigma) - log_marginal(mixture, x - h * e, sigma)) / (2 * h)
                     for e in np.eye(mixture.dim)], axis=1)
    np.testing.assert_allclose(mixture.denoise(x, sigma), x + sigma ** 2 * grad, rtol=1e-6, atol=1e-6)


def test_conditional_denoiser_is_tweedie_of_one_component():
    mixture = small_mixture()
    sigma = 1.3
    x = np.random.default_rng(2).normal(size=(4, mixture.dim))
    for k in range(3):
        single = mixtures.GaussianMixture(mixture.means[[k]], mixture.variance, np.ones(1))
        np.testing.assert_allclose(mixture.denoise(x, sigma, z=k), single.denoise(x, sigma), rtol=1e-12)
    # Unconditional = posterior-weighted conditionals.
    post = np.exp(mixture.log_posterior(x, sigma))
    mix = sum(post[:, [k]] * mixture.denoise(x, sigma, z=k) for k in range(3))
    np.testing.assert_allclose(mixture.denoise(x, sigma), mix, rtol=1e-12)


def test_posterior_is_bayes_rule():
    mixture = small_mixture()
    sigma = 0.9
    x = np.random.default_rng(3).normal(size=(6, mixture.dim))
    v = mixture.variance + sigma ** 2
    joint = np.log(mixture.weights) - ((x[:, None] - mixture.means[None]) ** 2).sum(-1) / (2 * v)
    np.testing.assert_allclose(mixture.log_posterior(x, sigma), joint - logsumexp(joint, axis=1, keepdims=True), atol=1e-12)


def test_projection_preserves_posterior_in_high_dimension():
    mixture = mixtures.simplex_mixture(5, 2000, 0.01, np.random.default_rng(4), weights=np.array([.1, .2, .3, .2, .2]))
    projected = mixture.project()
    assert projected.coords.shape == (5, 4)   # rank K - 1
    sigma = 2.0
    x, _ = mixture.sample(8, np.random.default_rng(5), sigma=sigma)
    basis = np.linalg.lstsq(projected.coords, mixture.means - mixture.weights @ mixture.means, rcond=None)[0]  # [r, d]
    y = (x - mixture.weights @ mixture.means) @ np.linalg.pinv(basis)
    np.testing.assert_allclose(projected.log_posterior(y, sigma), mixture.log_posterior(x, sigma), atol=1e-8)


def test_top_eigenvalue_matches_explicit_covariance():
    mixture = small_mixture(dim=5)
    centred = mixture.means - mixture.weights @ mixture.means
    cov = mixture.variance * np.eye(5) + (mixture.weights[:, None, None] * centred[:, :, None] * centred[:, None, :]).sum(0)
    assert mixture.covariance_top_eigenvalue() == pytest.approx(np.linalg.eigvalsh(cov)[-1], rel=1e-12)
    # And the sample covariance agrees within Monte Carlo error.
    x, _ = mixture.sample(200_000, np.random.default_rng(6))
    assert np.linalg.eigvalsh(np.cov(x.T))[-1] == pytest.approx(mixture.covariance_top_eigenvalue(), rel=0.02)


@pytest.mark.parametrize('K, dim', [(2, 1), (2, 50), (10, 10_000)])
def test_simplex_means(K, dim):
    mixture = mixtures.simplex_mixture(K, dim, 0.5, np.random.default_rng(7), variance=2.0)
    np.testing.assert_allclose(np.linalg.norm(mixture.means, axis=1) ** 2, 0.5 * dim, rtol=1e-10)
    dist = np.linalg.norm(mixture.means[:, None] - mixture.means[None], axis=-1)[~np.eye(K, dtype=bool)]
    np.testing.assert_allclose(dist, dist[0], rtol=1e-10)
    # Lambda = v0 + |m|^2 / (K - 1) for uniform weights.
    assert mixture.covariance_top_eigenvalue() == pytest.approx(2.0 + 0.5 * dim / (K - 1), rel=1e-10)


def test_hierarchical_means():
    mixture = mixtures.hierarchical_mixture(3, 4, 100, 2.0, 0.1, np.random.default_rng(8))
    assert mixture.means.shape == (12, 100)
    centres = mixture.means.reshape(3, 4, 100).mean(1)
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1) ** 2, 200, rtol=1e-10)
    offsets = mixture.means.reshape(3, 4, 100) - centres[:, None]
    np.testing.assert_allclose(np.linalg.norm(offsets, axis=-1) ** 2, 10, rtol=1e-10)
    # Coarse and fine directions are orthogonal.
    assert abs(np.einsum('sd,sbd->', centres, offsets)) < 1e-8


def test_build_experiment_partitions():
    spec = dict(kind='hierarchical', superclasses=2, subclasses=3, dim=20, coarse_signal_per_dim=1.0,
                fine_signal_per_dim=0.1, variance=1.0, partitions={'mine': [[0, 3], [1]]})
    mixture, parts = mixtures.build_experiment('h', spec, seed=0)
    assert mixture.num_components == 6
    assert parts['superclasses'] == [[0, 1, 2], [3, 4, 5]]
    assert parts['subclasses-of-1'] == [[3], [4], [5]]
    assert parts['mine'] == [[0, 3], [1]]
    with pytest.raises(ValueError, match=r'gmm.experiments.h.partitions.bad: unknown member 6'):
        mixtures.build_experiment('h', dict(spec, partitions={'bad': [[0], [6]]}), seed=0)
    with pytest.raises(ValueError, match='taken by a built-in partition'):
        mixtures.build_experiment('h', dict(spec, partitions={'classes': [[0], [1]]}), seed=0)


def test_build_experiment_is_deterministic():
    spec = dict(kind='simplex', components=3, dim=30, signal_per_dim=1.0, variance=1.0)
    a, _ = mixtures.build_experiment('s', spec, seed=3)
    b, _ = mixtures.build_experiment('s', spec, seed=3)
    c, _ = mixtures.build_experiment('s', spec, seed=4)
    assert np.array_equal(a.means, b.means) and not np.array_equal(a.means, c.means)


def test_mixture_rejects_bad_parameters():
    with pytest.raises(ValueError, match='weights'):
        mixtures.GaussianMixture(np.zeros((2, 3)), 1.0, np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match='variance'):
        mixtures.GaussianMixture(np.zeros((2, 3)), 0.0, np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match='NaN'):
        mixtures.GaussianMixture(np.full((2, 3), np.nan), 1.0, np.array([0.5, 0.5]))
