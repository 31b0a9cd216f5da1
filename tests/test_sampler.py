"""The stochastic sampler: exact marginals, guidance and its interval, call counts, numerical faults."""

import numpy as np
import pytest
import torch

from entropic.method import denoisers, sampler
from entropic.theory import mixtures, noise
from entropic.method.denoisers import UNCONDITIONAL
from tests.support.pure_noise import FromPureNoise


def one_gaussian(dim=1, variance=0.5):
    return mixtures.GaussianMixture(np.zeros((1, dim)), variance, np.ones(1))


def test_exact_step_variance_preserves_the_marginal():
    # From x ~ N(0, v0 + sigma^2), one step with the exact kernel variance lands on N(0, v0 + sigma'^2).
    mixture = one_gaussian()
    den = denoisers.GMMDenoiser(mixture)
    n, sigma, sigma_next = 400_000, 3.0, 1.2
    x = torch.randn(n, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * np.sqrt(0.5 + sigma ** 2)
    out = sampler.sample(den, [sigma, sigma_next, 0.0], torch.zeros(n, dtype=torch.long), x,
                         torch.Generator().manual_seed(1), sampler_variance='exact')
    # The final step is deterministic (x = D), so look at the state after the first step through D's inverse:
    # D(x'; sigma') = (1 - c') x' with c' = sigma'^2 / (v0 + sigma'^2), hence x' = D / (1 - c').
    c_next = sigma_next ** 2 / (0.5 + sigma_next ** 2)
    x_next = out['x'][:, 0] / (1 - c_next)
    target = 0.5 + sigma_next ** 2
    assert abs(x_next.var().item() - target) < 4 * target * np.sqrt(2 / n)


def test_samples_follow_the_mixture():
    mixture = mixtures.simplex_mixture(3, 2, 8.0, np.random.default_rng(0), variance=0.3)
    den = denoisers.GMMDenoiser(mixture)
    n = 3000
    labels = torch.arange(3).repeat_interleave(n)
    x = torch.as_tensor(mixture.means[labels.numpy()]) + torch.randn(3 * n, 2, generator=torch.Generator().manual_seed(0),
                                                                      dtype=torch.float64) * np.sqrt(0.3 + 80 ** 2)
    out = sampler.sample(den, noise.edm_sigma_grid(64, append_zero=True), labels, x, torch.Generator().manual_seed(1),
                         sampler_variance='exact')
    for k in range(3):
        xs = out['x'][labels == k].numpy()
        assert np.all(np.abs(xs.mean(0) - mixture.means[k]) < 4 * np.sqrt(0.3 / n))
        assert np.all(np.abs(xs.var(0) - 0.3) < 4 * 0.3 * np.sqrt(2 / n))


class DiagonalMixture:
    """Exact denoiser of a Gaussian mixture whose components share the diagonal covariance diag(v): its posterior
    given a component is Gaussian with a variance per coordinate, v sigma^2 / (v + sigma^2), which it reports as
    a denoiser with a learned per-coordinate variance does (posterior_variance [B, d]), or, with `isotropic`, as
    its mean over coordinates (one value per row: the approximation the per-coordinate kernel replaces)."""
    def __init__(self, means, variances, isotropic=False):
        self.means = torch.as_tensor(means, dtype=torch.float64)            # [K, d]
        self.v = torch.as_tensor(variances, dtype=torch.float64)            # [d]
        self.isotropic = isotropic

    def __call__(self, x, sigma, labels):
        mean = self.means[torch.as_tensor(labels)]
        return mean + self.v / (self.v + sigma ** 2) * (x - mean)

    def posterior_variance(self, sigma, labels, x):
        assert x.shape == (len(labels), self.v.numel())     # the states of the rows come with their labels
        variance = (self.v * sigma ** 2 / (self.v + sigma ** 2)).expand(len(labels), -1)
        return variance.mean(-1) if self.isotropic else variance.clone()

    def log_posterior(self, x, sigma):
        """log p(k | x_sigma) [B, K] of equal weights: x_sigma | k ~ N(mu_k, diag(v + sigma^2))."""
        return torch.log_softmax(-0.5 * ((x[:, None] - self.means) ** 2 / (self.v + sigma ** 2)).sum(-1), -1)


def test_exact_step_variance_per_coordinate_preserves_the_marginal_of_every_coordinate():
    # From x ~ N(0, diag(v) + sigma^2), one step with the exact per-coordinate variance lands on N(0, v + sigma'^2).
    v = torch.tensor([0.05, 2.0], dtype=torch.float64)
    den = DiagonalMixture(torch.zeros(1, 2), v)
    n, sigma, sigma_next = 200_000, 3.0, 1.2
    x = torch.randn(n, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * (v + sigma ** 2).sqrt()
    out = sampler.sample(den, [sigma, sigma_next, 0.0], torch.zeros(n, dtype=torch.long), x,
                         torch.Generator().manual_seed(1), sampler_variance='exact')
    # The last step is x = D(x'; sigma') = (1 - c') x', c' = sigma'^2 / (v + sigma'^2) per coordinate: invert it.
    x_next = out['x'] / (1 - sigma_next ** 2 / (v + sigma_next ** 2))
    target = v + sigma_next ** 2
    # The variance of n Gaussian draws has standard error target sqrt(2 / n): 4 of them per coordinate.
    assert ((x_next.var(0) - target).abs() < 4 * target * np.sqrt(2 / n)).all(), (x_next.var(0), target)


@pytest.mark.parametrize('isotropic', [False, True])
def test_tracking_with_the_exact_per_coordinate_kernel_is_the_exact_posterior_along_the_path(isotropic):
    """With the exact reverse kernels N(mu_h, s^2 + c^2 Var[x0 | x, h]) per coordinate and the exact prior at the
    start, the tracked log p(h | path) is log p(h | x) of the current state exactly (Z -> X_0 -> X_sigma is
    Markov, so the least noisy state is sufficient), at every step, for every trajectory: a deterministic identity,
    up to float64 rounding of 32 steps of sums of O(100) terms (1e-9 allowed). The isotropic kernel with the
    mean variance over coordinates, the approximation a one-value-per-row variance makes, breaks it."""
    rng = np.random.default_rng(0)
    den = DiagonalMixture(2 * rng.standard_normal((3, 5)), [0.05, 0.3, 1.0, 2.0, 4.0], isotropic)
    sigmas = noise.edm_sigma_grid(32, sigma_min=0.01, sigma_max=20.0, append_zero=True)
    labels = torch.arange(3).repeat(20)
    x = den.means[labels] + (den.v + sigmas[0] ** 2).sqrt() * torch.randn(60, 5, dtype=torch.float64,
                                                                         generator=torch.Generator().manual_seed(1))
    out = sampler.sample(den, sigmas, labels, x, torch.Generator().manual_seed(2), hypotheses=[0, 1, 2],
                         log_prior=den.log_posterior(x, sigmas[0]), kernel='exact', sampler_variance='exact',
                         keep_denoised=60)
    # Every state along the path from its x0 estimate (unguided: D = D_own, invertible per coordinate).
    mean = den.means[labels]
    errors = []
    for i, sigma in enumerate(sigmas[:-1]):
        state = mean + (out['denoised'][i] - mean) * (den.v + sigma ** 2) / den.v
        errors.append((out['log_posterior'][i] - den.log_posterior(state, sigma)).abs().max().item())
    if isotropic:
        assert max(errors) > 1e-2
    else:
        assert max(errors) < 1e-9, errors



def _hand_tracker_step(log_prior, x, D_g, D_h, eps, sigma, sigma_next, kernel_var):
    """The eq. 6 update written out with scipy's Gaussian densities: x' = mu_g + s eps, then log p(h | x') =
    log p(h | x) + log N(x'; mu_h, diag(kernel_var[h, b])) renormalised; returns (log p(h | x') [B, H], the
    log-densities [B, H])."""
    import scipy.special
    import scipy.stats
    ratio = sigma_next ** 2 / sigma ** 2
    s2 = (sigma ** 2 - sigma_next ** 2) * sigma_next ** 2 / sigma ** 2
    x_next = ratio * x + (1 - ratio) * D_g + np.sqrt(s2) * eps
    H, B = D_h.shape[:2]
    log_density = np.array([[scipy.stats.multivariate_normal(ratio * x[b] + (1 - ratio) * D_h[h, b],
                                                             np.diag(kernel_var[h, b])).logpdf(x_next[b])
                             for h in range(H)] for b in range(B)])
    unnormalised = log_prior + log_density
    return unnormalised - scipy.special.logsumexp(unnormalised, axis=1, keepdims=True), log_density


@pytest.mark.parametrize('kernel', ['sampler', 'exact per row', 'exact per coordinate'])
def test_the_tracker_step_is_the_gaussian_likelihood_update_of_eq_6(kernel):
    """tracker_step against eq. 6 computed by hand with scipy's Gaussian log-densities on a tiny case: two
    hypotheses, two trajectories in 3 dimensions, one step from sigma = 2 to 1 (s^2 = 3/4, c = 3/4), the kernel
    variance s^2 (the paper's) or s^2 + c^2 Var[x0 | x, h] (exact, one per row or one per coordinate). Both sides
    are float64 with |x'|, |mu_h| < 10 and log-densities of order 10: they differ by rounding, a few ulp of those
    (< 1e-13); 1e-11 allowed. With the paper's kernel the log-odds move by the two densities' log-ratio."""
    rng = np.random.default_rng(0)
    H, B, d, sigma, sigma_next = 2, 2, 3, 2.0, 1.0
    x, D_g, eps = rng.normal(0, 2, (B, d)), rng.normal(0, 1, (B, d)), rng.normal(0, 1, (B, d))
    D_h = rng.normal(0, 1, (H, B, d))
    log_prior = np.log(np.array([[0.3, 0.7], [0.6, 0.4]]))
    s2, c = sampler.step_variance(sigma, sigma_next), 1 - sigma_next ** 2 / sigma ** 2
    assert (s2, c) == (0.75, 0.75)
    posterior_var = {'sampler': None, 'exact per row': rng.uniform(0.1, 1, (H, B)),
                     'exact per coordinate': rng.uniform(0.1, 1, (H, B, d))}[kernel]
    kernel_var = np.full((H, B, d), s2) if posterior_var is None else \
        s2 + c ** 2 * np.broadcast_to(posterior_var.reshape(H, B, -1), (H, B, d))
    expected, log_density = _hand_tracker_step(log_prior, x, D_g, D_h, eps, sigma, sigma_next, kernel_var)
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)
    got = sampler.tracker_step(t(log_prior), t(np.sqrt(s2) * eps), t(D_g), t(D_h), c, s2,
                               None if posterior_var is None else t(posterior_var))
    assert got.dtype == torch.float64 and got.shape == (B, H)
    assert np.abs(got.numpy() - expected).max() < 1e-11
    if kernel == 'sampler':
        odds = lambda lp: lp[:, 0] - lp[:, 1]
        assert np.abs((odds(got.numpy()) - odds(log_prior)) - (log_density[:, 0] - log_density[:, 1])).max() < 1e-11


def test_the_sampler_tracks_with_tracker_step_after_every_step_above_zero(monkeypatch):
    """sample's log-posterior history is tracker_step's output, one update per step to sigma' > 0 (none on the
    last step, to 0): the update of eq. 6 lives in one function."""
    mixture = mixtures.simplex_mixture(3, 2, 4.0, np.random.default_rng(0), variance=0.3)
    updates = []
    step = sampler.tracker_step
    monkeypatch.setattr(sampler, 'tracker_step', lambda *args: updates.append(step(*args)) or updates[-1])
    sigmas = noise.edm_sigma_grid(6, append_zero=True)
    x, generator = sampler.initial_state(6, 2, sigmas[0], seed=0)
    out = sampler.sample(denoisers.GMMDenoiser(mixture), sigmas, torch.arange(3).repeat(2), x.double(), generator,
                         hypotheses=[0, 1, 2])
    assert len(updates) == len(sigmas) - 2
    assert all(torch.equal(a, b) for a, b in zip(out['log_posterior'][1:], updates))

class CountingDenoiser:
    """Records the labels of every call; returns 0 for class 0, 1 for class 1, 10 for the reference."""
    def __init__(self):
        self.calls = []

    def __call__(self, x, sigma, labels):
        self.calls.append((sigma, labels.clone()))
        value = torch.where(labels == UNCONDITIONAL, 10.0, labels.double())
        return value.view(-1, *[1] * (x.dim() - 1)).expand_as(x).to(x.dtype)


def test_guidance_mixes_with_the_unconditional_model_inside_the_interval_only():
    den = CountingDenoiser()
    sigmas = noise.edm_sigma_grid(8, append_zero=True)
    guidance = sampler.Guidance(scale=3.0, sigma_lo=1.0, sigma_hi=10.0)
    x = torch.zeros(4, 2, dtype=torch.float64)
    out = sampler.sample(den, sigmas, torch.ones(4, dtype=torch.long), x, torch.Generator().manual_seed(0), guidance=guidance)
    guided = sorted({round(s, 6) for s, labels in den.calls if (labels == UNCONDITIONAL).any()})
    assert guided == sorted(round(float(s), 6) for s in sigmas[:-1] if 1.0 < s <= 10.0)
    # Last step (sigma = 0.002, outside the interval): x = D_c = 1 exactly.
    assert torch.all(out['x'] == 1)
    # Inside the interval the guided denoiser is D_u + w (D_c - D_u) = 10 + 3 (1 - 10) = -17.
    mean, _ = sampler.step_moments(torch.zeros(1), torch.tensor([-17.0]), 5.0, 2.0)
    assert mean.item() == pytest.approx((1 - 4 / 25) * -17)


def test_binary_tracking_costs_no_calls_beyond_guided_sampling():
    B, sigmas = 6, noise.edm_sigma_grid(16, append_zero=True)
    labels = torch.tensor([1, 1, 1, UNCONDITIONAL, UNCONDITIONAL, UNCONDITIONAL])
    x = torch.randn(B, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    guided = sampler.sample(CountingDenoiser(), sigmas, labels, x, torch.Generator().manual_seed(1),
                            guidance=sampler.Guidance(2.0))
    tracked = sampler.sample(CountingDenoiser(), sigmas, labels, x, torch.Generator().manual_seed(1),
                             guidance=sampler.Guidance(2.0), hypotheses=[1, UNCONDITIONAL])
    assert tracked['calls'] == guided['calls'] == 2 * B * 16
    assert tracked['log_posterior'].shape == (16, B, 2)


def test_nan_from_the_denoiser_names_the_noise_level():
    def broken(x, sigma, labels):
        return torch.full_like(x, np.nan) if sigma < 1 else x
    with pytest.raises(FloatingPointError, match='sigma = 0.'):
        sampler.sample(broken, noise.edm_sigma_grid(16, append_zero=True), torch.zeros(2, dtype=torch.long),
                       torch.zeros(2, 2), torch.Generator().manual_seed(0))


@pytest.mark.parametrize('dtype', [torch.float32, torch.float16])
def test_tracking_is_finite_at_extreme_noise_with_low_precision_outputs(dtype):
    mixture = mixtures.simplex_mixture(10, 9, 50.0, np.random.default_rng(0))
    exact_den = denoisers.GMMDenoiser(mixture)

    def low_precision(x, sigma, labels):
        return exact_den(x.double(), sigma, labels).to(dtype).to(x.dtype)

    labels = torch.arange(10).repeat_interleave(20)
    x = torch.as_tensor(mixture.means[labels.numpy()]) + 80 * torch.randn(200, 9, dtype=torch.float64,
                                                                          generator=torch.Generator().manual_seed(0))
    out = sampler.sample(low_precision, noise.edm_sigma_grid(64, append_zero=True), labels, x,
                         torch.Generator().manual_seed(1), hypotheses=list(range(10)))
    log_post = out['log_posterior']
    assert torch.isfinite(torch.logsumexp(log_post, -1)).all() and not torch.isnan(log_post).any()
    # Near-certain posteriors at sigma = 0.002: the true class wins.
    assert (log_post[-1].argmax(-1) == labels).float().mean() > 0.99


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16, torch.float32])
def test_the_finiteness_check_of_large_finite_half_precision_batches_is_one_sum(dtype, monkeypatch):
    # 4096 values of 60000 sum past float16's largest value: the check must still prove them finite with its
    # one sum (a 0-d isfinite), not fall back to the elementwise pass; a NaN among them is still named.
    values = torch.full((4096, 1), 60000.0, dtype=dtype)
    checked = []
    isfinite = torch.isfinite
    monkeypatch.setattr(torch, 'isfinite', lambda t: checked.append(t.dim()) or isfinite(t))
    sampler._check_finite(values, [0] * 4096, 1.0, 0, 1)
    assert checked == [0]
    values[7] = float('nan')
    with pytest.raises(FloatingPointError, match='for hypothesis 3$'):
        sampler._check_finite(values, [0] * 7 + [3] + [0] * 4088, 1.0, 0, 1)


def test_rejects_a_grid_that_is_not_decreasing_or_ends_below_zero():
    for grid in ([80.0, 1.0, 2.0, 0.0], [80.0, -1.0]):
        with pytest.raises(ValueError, match='strictly decreasing and end at 0 or above'):
            sampler.sample(CountingDenoiser(), grid, torch.zeros(1, dtype=torch.long), torch.zeros(1, 1),
                           torch.Generator())


def test_a_run_stopped_above_zero_and_continued_is_the_same_run():
    # What cloning relies on: the state at a level sigma_b > 0, continued with the same generator, ends exactly
    # where one uninterrupted run ends.
    mixture = mixtures.simplex_mixture(3, 2, 8.0, np.random.default_rng(0), variance=0.3)
    den = denoisers.GMMDenoiser(mixture)
    sigmas = noise.edm_sigma_grid(16, append_zero=True)
    labels = torch.full((50,), UNCONDITIONAL)
    x = 80 * torch.randn(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    whole = sampler.sample(den, sigmas, labels, x, torch.Generator().manual_seed(1))['x']
    generator = torch.Generator().manual_seed(1)
    above = sampler.sample(den, sigmas[:9], labels, x, generator)['x']            # the state at sigmas[8] > 0
    assert not torch.equal(above, x) and sigmas[8] > 0
    assert torch.equal(sampler.sample(den, sigmas[8:], labels, above, generator)['x'], whole)


class BrokenBelow:
    """The exact mixture denoiser, except that the conditions in `broken` return NaN (or `value`) below `sigma`."""
    def __init__(self, mixture, broken, below=10.0, value=float('nan')):
        self.exact, self.broken, self.below, self.value = denoisers.GMMDenoiser(mixture), list(broken), below, value
        self.num_classes = mixture.num_components

    def __call__(self, x, sigma, labels):
        out = self.exact(x, sigma, labels)
        if sigma < self.below:
            out[torch.isin(torch.as_tensor(labels), torch.tensor(self.broken))] = self.value
        return out


def first_level_below(sigmas, level):
    step = next(i for i, s in enumerate(sigmas) if s < level)
    return step, float(sigmas[step])


def test_a_nan_in_a_tracked_hypothesis_that_is_neither_sampled_nor_the_reference_stops_sampling():
    # A shard whose trajectories all come from class 0 (trajectories.shard_labels of 4 shards over [0, 1, 2, -1])
    # tracks [0, 1, 2, -1]; hypothesis 2 turns NaN below sigma = 10. No guidance: D_g = D_0 stays finite.
    from entropic.pipeline import trajectories
    mixture = mixtures.simplex_mixture(3, 4, 2.0, np.random.default_rng(0))
    labels = trajectories.shard_labels(trajectories.trajectory_labels(3, 32), 4, 0)
    assert set(labels.tolist()) == {0}
    sigmas = noise.edm_sigma_grid(16, append_zero=True)
    step, sigma = first_level_below(sigmas, 10.0)
    with pytest.raises(FloatingPointError) as caught:
        trajectories.sample_shard(BrokenBelow(mixture, [2]), 3, labels, 4, torch.as_tensor(sigmas), sampler.Guidance(),
                             seed=0, progress=False)
    message = str(caught.value)
    assert f'sigma = {sigma:.6g} (step {step} of 16)' in message and 'hypothesis 2' in message, message
    assert 'hypothesis 0' not in message and 'reference' not in message


@pytest.mark.parametrize('broken, scale, named', [
    ([UNCONDITIONAL], 2.0, 'the unconditional reference (-1)'),         # tracked, and guidance's reference
    ([1], 2.0, 'hypothesis 1'),                                         # tracked and sampled
    ([], 1e308, 'the guided estimate (w = 1e+308)'),                    # every branch finite, their mix overflows
])
def test_any_non_finite_branch_stops_sampling_at_its_first_step(broken, scale, named):
    mixture = mixtures.simplex_mixture(3, 4, 2.0, np.random.default_rng(0))
    labels = torch.tensor([0, 1, 2, UNCONDITIONAL] * 2)
    sigmas = noise.edm_sigma_grid(16, append_zero=True)
    step, sigma = first_level_below(sigmas, 10.0)
    den = BrokenBelow(mixture, broken)
    x = 80.0 * torch.randn(8, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for hypotheses in ([0, 1, 2, UNCONDITIONAL], None):              # tracked, and plain guided sampling
        with pytest.raises(FloatingPointError) as caught:
            sampler.sample(den if broken else denoisers.GMMDenoiser(mixture), sigmas, labels, x,
                           torch.Generator().manual_seed(1), guidance=sampler.Guidance(scale), hypotheses=hypotheses)
        message = str(caught.value)
        assert named in message, message
        if broken:
            assert f'sigma = {sigma:.6g} (step {step} of 16)' in message, message
        else:
            assert 'step 0 of 16' in message, message


#----------------------------------------------------------------------------
# A grid that starts at sigma = inf (flow matching's t = 1, pure noise).

def test_the_first_step_from_pure_noise_lands_on_the_forward_marginal():
    # From sigma = inf the step is x' = D(inf) + s eps with s^2 = sigma'^2 (+ c^2 Var[x0 | x, k] = v0 with the exact
    # kernel, c = 1): for one component that is N(m, v0 + sigma'^2), the forward process at sigma', exactly. Mean
    # and variance of n draws within 4 standard errors (sqrt(var / n) and var sqrt(2 / n)).
    mixture = mixtures.simplex_mixture(2, 3, 2.0, np.random.default_rng(0), variance=0.5)
    n, sigma_next = 200_000, 2.5
    labels = torch.ones(n, dtype=torch.long)
    x = torch.randn(n, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)   # standardised
    x_next = {}
    for variance in ('sampler', 'exact'):
        out = sampler.sample(FromPureNoise(mixture), [np.inf, sigma_next, 1e-9, 0.0], labels, x,
                             torch.Generator().manual_seed(1), sampler_variance=variance, keep_denoised=n)
        # keep_denoised holds D at every level; D at sigma' of the mixture inverts to x': x' = (D - c m) / (1 - c)
        c = sigma_next ** 2 / (0.5 + sigma_next ** 2)
        x_next[variance] = (out['denoised'][1] - c * torch.as_tensor(mixture.means[1])) / (1 - c)
    target = 0.5 + sigma_next ** 2
    for variance, expected in (('exact', target), ('sampler', sigma_next ** 2)):
        mean, var = x_next[variance].mean(0).numpy(), x_next[variance].var(0).numpy()
        assert np.all(np.abs(mean - mixture.means[1]) < 4 * np.sqrt(expected / n)), variance
        assert np.all(np.abs(var - expected) < 4 * expected * np.sqrt(2 / n)), variance


def test_a_start_at_sigma_inf_is_the_limit_of_a_start_at_large_sigma():
    # Started at a finite L from x = L z, the first step's mean is (sigma_1 / L)^2 L z + (1 - (sigma_1 / L)^2) D(L z; L)
    # with D(L z; L) = m + O(v0 |z| / L): both deviate from the limit's D(inf) = m by O((sigma_1^2 + v0) |z| / L),
    # and the later steps contract (their mean map's slope r + (1 - r)(1 - c) < 1). So the samples and the tracked
    # posteriors approach the start at inf like 1 / L: checked at L = 1e4 and 1e6 (a hundredfold closer).
    mixture = mixtures.simplex_mixture(3, 4, 3.0, np.random.default_rng(0), variance=0.5)
    sigmas = list(noise.edm_sigma_grid(12, sigma_max=20.0, append_zero=True))
    labels = torch.tensor([0, 1, 2, UNCONDITIONAL] * 4)
    z = torch.randn(16, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    run = lambda first, x: sampler.sample(FromPureNoise(mixture), [first] + sigmas, labels, x,
                                          torch.Generator().manual_seed(1), guidance=sampler.Guidance(2.0),
                                          hypotheses=[0, 1, 2, UNCONDITIONAL])
    limit = run(np.inf, z)
    assert torch.all(limit['log_posterior'][0] == -np.log(4))          # at pure noise: the prior
    bound = 4 * (sigmas[0] ** 2 + 0.5) * float(z.abs().max())
    gaps = []
    for L in (1e4, 1e6):
        finite = run(L, L * z)
        gap = max(float((finite['x'] - limit['x']).abs().max()),
                  float((finite['log_posterior'][1:] - limit['log_posterior'][1:]).abs().max()))
        assert gap < bound / L
        gaps.append(gap)
    assert gaps[1] < gaps[0] / 50
    assert torch.isfinite(limit['log_posterior']).all() and limit['calls'] == 16 * 4 * 13


def test_the_draws_come_from_a_cpu_generator_whatever_the_device():
    # PyTorch's CUDA generator gives another stream than the CPU's for one seed (and may differ between GPU models),
    # so a shard's noise is drawn on the CPU and copied: asking for the state on another device (here 'meta', a
    # device with no data, which every machine has) draws exactly what the CPU draws, from a CPU generator.
    x_cpu, on_cpu = sampler.initial_state(5, (2, 3), 4.0, seed=9)
    x_meta, for_meta = sampler.initial_state(5, (2, 3), 4.0, seed=9, device='meta')
    assert for_meta.device.type == 'cpu' and x_meta.device.type == 'meta' and x_meta.shape == x_cpu.shape
    assert torch.equal(for_meta.get_state(), on_cpu.get_state())     # the same numbers drawn, on the CPU
    step = sampler.normal(for_meta, x_meta.shape, torch.float16, x_meta.device)   # a step's noise: likewise
    assert step.device.type == 'meta' and step.dtype == torch.float16
    assert torch.equal(for_meta.get_state(), (sampler.normal(on_cpu, x_cpu.shape, torch.float16), on_cpu)[1].get_state())
