"""Cloning (entropic.studies.cloning): on a mixture's exact denoiser the clone agreement is the collision probability.

Tolerance: 4 binomial SE plus the sampler's own discretisation bias. The stochastic DDIM step moves the mean
by the posterior mean of x0 and ignores its spread, so a finite grid commits to a class a little too early:
for this mixture on the paper's 64-step grid, 20,000 pairs read phi high by up to 0.024 (at sigma = 3, where
phi = 0.70), and by up to 0.010 on 256 steps. 0.03 bounds it at 64 steps.
"""

import numpy as np
import pytest

from entropic.studies import cloning
from entropic.method import denoisers
from entropic.theory import exact, mixtures, noise


@pytest.fixture(scope='module')
def mixture():
    return mixtures.simplex_mixture(3, 2, 9.0, np.random.default_rng(0), variance=1.0)   # sigma_S = 3.2


def classify(mixture, samples):
    """The component of highest posterior at sigma = 0 of samples [L, N, d]; [L, N]."""
    return mixture.log_posterior(samples.reshape(-1, samples.shape[-1]), 0.0).argmax(-1).reshape(samples.shape[:2])


def test_branch_levels_are_the_nearest_grid_levels_and_distinct():
    sigmas = noise.edm_sigma_grid(64, append_zero=True)
    index = cloning.branch_indices(sigmas, [4.0, 0.5, 1.0])
    assert np.all(np.diff(index) > 0)                                  # decreasing sigma: the trunk's order
    np.testing.assert_allclose(sigmas[index], [4.0, 1.0, 0.5], rtol=0.15)
    with pytest.raises(ValueError, match='same sampler level'):
        cloning.branch_indices(sigmas, [1.0, 1.01])
    with pytest.raises(ValueError, match='outside the sampler grid'):
        cloning.branch_indices(sigmas, [100.0])


def test_clone_agreement_on_an_exact_mixture_is_its_collision_probability(mixture):
    sigmas = noise.edm_sigma_grid(64, append_zero=True)
    index = cloning.branch_indices(sigmas, [1.0, 3.0, 6.0])
    clones = cloning.clone_pairs(denoisers.GMMDenoiser(mixture), sigmas, index, 2000, 2, seed=3)
    table = cloning.agreement_rates(clones['sigma'], classify(mixture, clones['first']),
                                    classify(mixture, clones['second']))
    reference = exact.exact_entropy_curve(mixture.project(), table['sigma'].to_numpy(),
                                          exact.Hypotheses.from_partition(mixture.weights, [[0], [1], [2]]), 1024, 16,
                                          np.random.default_rng(0))
    assert np.all(np.abs(table['agreement'] - reference['phi']) <= 4 * table['agreement_se'] + 0.03), \
        (table['agreement'].tolist(), reference['phi'].tolist())
    # Decided at sigma = 1 (phi = 0.99), still open at 6 (0.48): independent continuations from the start would
    # give the prior's 1/3 everywhere, shared noise 1 everywhere.
    assert table['agreement'].iloc[-1] > 0.95 and table['agreement'].iloc[0] < 0.6
    assert table['pairs'].eq(2000).all() and np.allclose(table['t'], noise.sigma_to_vp_time(table['sigma']))


def test_clones_continue_with_independent_noise_and_the_run_is_seeded(mixture):
    sigmas = noise.edm_sigma_grid(16, append_zero=True)
    index = cloning.branch_indices(sigmas, [2.0, 8.0])
    den = denoisers.GMMDenoiser(mixture)
    a = cloning.clone_pairs(den, sigmas, index, 50, 2, seed=7)
    b = cloning.clone_pairs(den, sigmas, index, 50, 2, seed=7)
    c = cloning.clone_pairs(den, sigmas, index, 50, 2, seed=8)
    assert np.array_equal(a['first'], b['first']) and np.array_equal(a['second'], b['second'])
    assert not np.array_equal(a['first'], c['first'])
    assert not np.any(np.all(a['first'] == a['second'], axis=-1))      # no pair shares its continuation
    assert a['first'].shape == (2, 50, 2) and a['sigma'][0] > a['sigma'][1]
    # Calls: the trunk's 50 rows per step down to the lowest branch level, and 100 per step below each level.
    assert a['calls'] == 50 * index[-1] + 100 * sum(len(sigmas) - 1 - i for i in index)


def test_agreement_rates_are_binomial():
    first = np.array([[0, 1, 2, 0], [1, 1, 1, 1]])
    second = np.array([[0, 2, 2, 1], [1, 1, 1, 1]])
    table = cloning.agreement_rates([2.0, 0.5], first, second)
    np.testing.assert_allclose(table['agreement'], [0.5, 1.0])
    np.testing.assert_allclose(table['agreement_se'], [np.sqrt(0.25 / 4), 0.0])
