"""Exact class-conditional entropy H[Z' | X_sigma] of a Gaussian mixture, and its exact rate.

Z' is any discrete variable whose hypotheses are mixtures of the components (`Hypotheses`): the
components themselves, the cells of a partition, or the paper's binary form (one component against the
whole mixture).

The entropy is an expectation over X_sigma of the posterior entropy, a closed-form function of x.
We evaluate the expectation in the projected coordinates of `ProjectedMixture` (cost independent of
d), stratified over the components (every component gets the same noise points, weighted by its
prior) and by randomised quasi-Monte Carlo: R independently scrambled Sobol point sets of M points
each, mapped to N(0, I_r). The R replicate estimates are i.i.d. and unbiased, so their spread gives an
honest standard error. The same points serve every noise level (common random numbers), so a curve
is smooth in sigma. Where H < 1e-6 nats the entropy is carried by draws rarer than the points can
see, and the estimate loses relative (not absolute) accuracy.

The rate comes from the I-MMSE identity (docs/method.md eq. 10; Guo-Shamai-Verdu 2005, Kong et al. 2023),
valid for any function f(Z) since f(Z) -> X0 -> X_sigma is a Markov chain:

    dH/dsigma = sigma^-3 E |D(x; f(Z)) - D(x)|^2,   D(x; k) - D(x) = c (m_k - E[m_Z | x]),
    c = sigma^2 / (v0 + sigma^2),

so dH/dlog sigma = c^2 / sigma^2 * E sum_c P(c | x) |mbar_c(x) - mbar(x)|^2,
with mbar_c(x) the posterior mean of the component means under hypothesis c.

The same posterior gives, at no extra cost, the collision probability phi = E sum_c P(c | x)^2: the
probability that two independent draws of Z' given X_sigma agree, which is what Biroli et al. 2024
(arXiv:2402.18491) measure by cloning reverse trajectories at x and classifying both ends.
"""

import dataclasses

import numpy as np
from scipy.special import xlogy
from scipy.stats import norm, qmc

from entropic.theory.mixtures import ProjectedMixture
from entropic.theory.partitions import UNCONDITIONAL, has_reference

#----------------------------------------------------------------------------

def gaussian_qmc_points(num_replicates, num_points, dim, rng):
    """Independently scrambled Sobol points mapped to N(0, I_dim); [R, M, dim]. M must be a power of 2."""
    if num_points < 2 or num_points & (num_points - 1):
        raise ValueError(f'num_points must be a power of 2, got {num_points}')
    seeds = rng.integers(2 ** 63, size=num_replicates)
    uniform = np.stack([qmc.Sobol(dim, scramble=True, rng=np.random.default_rng(s)).random(num_points)
                        for s in seeds])
    return norm.ppf(np.clip(uniform, 1e-15, 1 - 1e-15))

@dataclasses.dataclass(frozen=True)
class Hypotheses:
    """A discrete variable Z' over a mixture: hypothesis c has prior prior[c] and is itself the mixture of
    components with weights component_weights[c] (rows sum to 1). The data are the mixture
    sum_c prior[c] sum_k component_weights[c, k] N(m_k, v0 I)."""
    prior:              np.ndarray  # [C]
    component_weights:  np.ndarray  # [C, K]

    @classmethod
    def from_partition(cls, weights, cells):
        """The cell variable f(Z) of a partition, on the data conditioned on Z in play (docs/method.md eq. 5); a cell
        [UNCONDITIONAL] is the whole mixture, and a partition with it takes the paper's forced uniform prior
        over its cells (Handke et al. 2026, arXiv:2602.09651, App. B: [[k], [UNCONDITIONAL]] is class k against the unconditional reference)."""
        weights = np.asarray(weights, dtype=np.float64)
        rows = np.zeros((len(cells), len(weights)))
        for c, cell in enumerate(cells):
            if list(cell) == [UNCONDITIONAL]:
                rows[c] = weights
            else:
                rows[c, cell] = weights[cell]
        mass = rows.sum(1)
        prior = np.full(len(cells), 1 / len(cells)) if has_reference(cells) else mass / mass.sum()
        return cls(prior, rows / mass[:, None])

    def soft_membership(self):
        """(data weights w [K'], M [K', C] = P(c | component k), components in play [K'])."""
        data_weights = self.prior @ self.component_weights
        in_play = np.flatnonzero(data_weights > 0)
        membership = (self.prior[:, None] * self.component_weights).T[in_play] / data_weights[in_play, None]
        return data_weights[in_play], membership, in_play

def exact_entropy_curve(
    projected,          # ProjectedMixture (GaussianMixture.project())
    sigmas,             # [L] noise levels, EDM coordinates
    hypotheses,         # Hypotheses: the variable whose entropy is measured (e.g. Hypotheses.from_partition)
    num_points,         # M: quasi-Monte Carlo points per replicate (a power of 2), shared by every component
    num_replicates,     # R >= 2: independent scramblings; the standard error is their spread / sqrt(R)
    rng,                # numpy Generator
):
    """H[Z' | X_sigma] in nats, its rate dH/dlog sigma and the collision probability phi = E sum_c P(c | x)^2
    (dimensionless, in [1/C, 1]), each with a standard error.

    Returns a dict of [L] arrays H, H_se, rate, rate_se, phi, phi_se, n (the (z, x) evaluations behind each
    level: R * M * components in play) and the [L, R] replicate estimates H_samples, rate_samples, phi_samples.
    """
    data_weights, membership, in_play = hypotheses.soft_membership()       # membership: [K, C]
    sub = ProjectedMixture(projected.coords[in_play], projected.variance, data_weights)
    K, r = sub.coords.shape
    # H[Z | X] itself (every hypothesis one component): a faster path.
    singletons = membership.shape[0] == membership.shape[1] and np.array_equal(membership @ membership.T, np.eye(K))
    gram = sub.coords @ sub.coords.T                                        # [K, K]: mu_k . mu_l
    noise = gaussian_qmc_points(num_replicates, num_points, r, rng)        # [R, M, r]
    R, M = noise.shape[:2]
    # y = mu_z + sqrt(v) xi enters the posterior only through y . mu_l = G[z, l] + sqrt(v) (xi . mu_l).
    noise_proj = (noise @ sub.coords.T)[:, None]                            # [R, 1, M, K]
    signal_proj = (gram - 0.5 * np.diag(gram))[None, :, None, :]            # [1, K(z), 1, K]
    log_w = np.log(sub.weights)

    entropy, rate, collision = [], [], []
    for sigma in np.asarray(sigmas, dtype=np.float64):
        v = sub.variance + sigma ** 2
        logits = (log_w + (signal_proj + np.sqrt(v) * noise_proj) / v).reshape(-1, K)  # [R*K*M, K]
        shifted = logits - logits.max(-1, keepdims=True)
        post = np.exp(shifted)
        total = post.sum(-1)
        post /= total[:, None]                                              # p(k | y): [n, K]
        spread_all = post @ np.diag(gram) - ((post @ gram) * post).sum(-1)  # sum_k p_k |mu_k - mbar|^2
        if singletons:
            h = np.log(total) - np.einsum('nk,nk->n', post, shifted)        # -sum_k p_k log p_k
            phi = np.einsum('nk,nk->n', post, post)                         # sum_k p_k^2
            within = 0.0
        else:
            cell_prob = post @ membership                                   # P(c | y): [n, C]
            h = -xlogy(cell_prob, cell_prob).sum(-1)
            phi = np.einsum('nc,nc->n', cell_prob, cell_prob)               # sum_c P_c^2
            # Spread of the means inside the hypotheses: sum_k p_k G_kk - sum_c |A_c|^2 / P_c with
            # A_c = sum_k p_k M_kc mu_k = P_c * (posterior mean of the means under hypothesis c).
            weighted = post[:, :, None] * membership[None]                  # [n, K, C]
            sq_norm_A = np.einsum('nkc,kl,nlc->nc', weighted, gram, weighted, optimize=True)
            within = post @ np.diag(gram) - np.divide(sq_norm_A, cell_prob, out=np.zeros_like(cell_prob),
                                                      where=cell_prob > 0).sum(-1)
        # Law of total variance: sum_c P_c |mbar_c - mbar|^2 = (spread over all) - (spread within cells).
        spread = np.maximum(spread_all - within, 0)
        g = (sigma / v) ** 2 * spread                                       # c^2 / sigma^2 * spread
        # Per replicate: prior-weighted average over components of the mean over points.
        entropy.append(sub.weights @ h.reshape(R, K, M).mean(-1).T)        # [R]
        rate.append(sub.weights @ g.reshape(R, K, M).mean(-1).T)
        collision.append(sub.weights @ phi.reshape(R, K, M).mean(-1).T)

    entropy, rate, collision = np.asarray(entropy), np.asarray(rate), np.asarray(collision)
    return dict(H=entropy.mean(-1), H_se=entropy.std(-1, ddof=1) / np.sqrt(R),
                rate=rate.mean(-1), rate_se=rate.std(-1, ddof=1) / np.sqrt(R),
                phi=collision.mean(-1), phi_se=collision.std(-1, ddof=1) / np.sqrt(R),
                n=np.full(len(entropy), R * K * M), H_samples=entropy, rate_samples=rate, phi_samples=collision)

def mixture_mmse(
    mixture,            # entropic.theory.mixtures.GaussianMixture
    sigmas,             # [L] noise levels, EDM coordinates
    num_points,         # M: quasi-Monte Carlo points per replicate (a power of 2)
    num_replicates,     # R >= 2
    rng,                # numpy Generator
):
    """The optimal denoiser's total error mmse(sigma) = E|X0 - E[X0 | X_sigma]|^2 (summed over the d coordinates,
    data units squared) with its standard error, and from the same quasi-Monte Carlo pass the class entropy
    H[Z | X_sigma] in nats (Z the component) with its; dict of [L] arrays mmse, mmse_se, H, H_se.

    By the law of total variance over the component Z, Var[X0 | x] = Var[X0 | x, Z] + Var_Z(E[X0 | x, Z] | x):

        mmse = d v0 sigma^2 / (v0 + sigma^2) + c^2 E sum_k p(k | x) |m_k - mbar(x)|^2,   c = sigma^2 / (v0 + sigma^2),

    and the second term is sigma^2 dH[Z | X_sigma]/dlog sigma (the I-MMSE rate of exact_entropy_curve with every
    component its own hypothesis), so its quasi-Monte Carlo error is that rate's. The entropic time of
    arXiv:2504.13612 (entropic.method.schedules) integrates mmse / sigma^3."""
    sigmas = np.asarray(sigmas, dtype=np.float64)
    K = mixture.num_components
    hypotheses = Hypotheses(mixture.weights, np.eye(K)) if K > 1 else None
    within = mixture.dim * mixture.variance * sigmas ** 2 / (mixture.variance + sigmas ** 2)
    if hypotheses is None:                  # one Gaussian: no spread between components, no class to decide
        zero = np.zeros_like(within)
        return dict(mmse=within, mmse_se=zero, H=zero, H_se=zero)
    curve = exact_entropy_curve(mixture.project(), sigmas, hypotheses, num_points, num_replicates, rng)
    return dict(mmse=within + sigmas ** 2 * curve['rate'], mmse_se=sigmas ** 2 * curve['rate_se'],
                H=curve['H'], H_se=curve['H_se'])
