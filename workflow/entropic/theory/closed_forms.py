"""Speciation theory: Biroli et al.'s time scale and the two-class closed form (docs/method.md eq. 11-12).

- Speciation time of VP diffusion (Biroli, Bonnaire, de Bortoli, Mezard 2024): t_S = 1/2 log Lambda,
  Lambda the largest eigenvalue of the data covariance; its EDM equivalent sigma_S = sqrt(Lambda - 1)
  (the conversion of `noise.vp_time_to_sigma`).
- In rectified-flow time (flow matching) t_S = sigma_S / (1 + sigma_S). H[Z | X] at a noise level sigma is one
  number in every process (VP, VE, flow matching): their states differ by a scale and a time change only, so
  the flow-matching curves are the EDM curves read in flow time.
- Two classes +-m with component variance v0: H[Z | X_sigma] = HH(s), s = |m|^2 / (v0 + sigma^2),
  HH(s) = E_{L ~ N(2s, 4s)} log(1 + e^{-L}), and by I-MMSE
  dH/dsigma = sigma^-3 (sigma^2 / (v0 + sigma^2))^2 |m|^2 E[1 - tanh^2(L / 2)].
- The same two classes' collision probability phi = E sum_z p(z | X_sigma)^2, Biroli et al.'s clone
  agreement (two reverse trajectories branched from X_sigma end in the same class with this probability):
  phi = 1 - E[1 - tanh^2(L / 2)] / 2, so phi = 0.775 at s = 1, i.e. at t_S for Lambda = 1 + |m|^2 >> 1.
"""

import numpy as np

from entropic.theory import noise

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(160)   # probabilists' Gauss-Hermite: E f(xi), xi ~ N(0, 1)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()

#----------------------------------------------------------------------------

def speciation_time(top_eigenvalue):
    """t_S = 1/2 log Lambda (Biroli et al. 2024), in VP (Ornstein-Uhlenbeck) time."""
    return 0.5 * np.log(top_eigenvalue)

def speciation_sigma(top_eigenvalue):
    """sigma_S = sqrt(Lambda - 1): t_S in EDM coordinates."""
    return noise.vp_time_to_sigma(speciation_time(top_eigenvalue))

def speciation_flow_time(top_eigenvalue):
    """t_S = sigma_S / (1 + sigma_S), sigma_S = sqrt(Lambda - 1): Biroli et al.'s speciation point (arXiv:2402.18491)
    in rectified-flow time (x_t = (1 - t) x0 + t eps; Liu et al. 2023, arXiv:2209.03003; Lipman et al. 2023,
    arXiv:2210.02747), whose state divided by 1 - t is the EDM state at sigma = t / (1 - t). Dimensionless in
    [0, 1): 0 at Lambda = 1, towards 1 (pure noise) as Lambda grows, 1 - t_S = 1 / (1 + sigma_S) ~ Lambda^(-1/2);
    Lambda >= 1 (NaN below, as sigma_S). Any shape."""
    return noise.sigma_to_flow_time(speciation_sigma(top_eigenvalue))[()]     # [()]: a scalar for a scalar

#----------------------------------------------------------------------------

def _log_odds_expectation(s, f):
    """E f(L) for L ~ N(2s, 4s), by Gauss-Hermite quadrature; s: any shape."""
    s = np.asarray(s, dtype=np.float64)[..., None]
    return (f(2 * s + 2 * np.sqrt(s) * _NODES) * _WEIGHTS).sum(-1)

def two_class_entropy_of_snr(snr):
    """HH(s) = E log(1 + e^{-L}), L ~ N(2s, 4s): H[Z | X] in nats of two equiprobable classes at SNR s."""
    return _log_odds_expectation(snr, lambda L: np.logaddexp(0, -L))

def two_class_snr(sigma, mean_sq_norm, variance=1.0):
    """s(sigma) = |m|^2 / (v0 + sigma^2) for classes +-m (the VP form e^{-2t}|m|^2 / v_t is the same number)."""
    return mean_sq_norm / (variance + np.square(np.asarray(sigma, dtype=np.float64)))

def two_class_entropy(sigma, mean_sq_norm, variance=1.0):
    """H[Z | X_sigma] in nats for two equiprobable classes +-m."""
    return two_class_entropy_of_snr(two_class_snr(sigma, mean_sq_norm, variance))

def two_class_drop_interval(mean_sq_norm, variance=1.0, low=0.1, high=0.9):
    """(sigma_low, sigma_high): the noise levels where H[Z | X_sigma] of two equiprobable classes +-m reaches
    `low` and `high` of its range log 2 (the interval that carries the central 80% of the drop at the defaults),
    solved exactly in the SNR s = |m|^2 / (v0 + sigma^2) with scipy's brentq (to 1e-13 relative in s).
    A property of the noise level alone: the same interval in VP, EDM and flow time. mean_sq_norm = |m|^2 and
    variance = v0 in data units (scalars); sigma in data units; NaN where the level lies at sigma^2 < 0 (an SNR
    above |m|^2 / v0: the curve starts below it). ValueError unless 0 < low < high < 1."""
    from scipy.optimize import brentq
    if not 0 < low < high < 1:
        raise ValueError(f'need 0 < low < high < 1, got low={low}, high={high}')
    edges = []
    for fraction in (low, high):
        target = fraction * np.log(2)
        s = brentq(lambda s: two_class_entropy_of_snr(s) - target, 1e-12, 1e3, xtol=1e-300, rtol=1e-13)
        sigma_sq = mean_sq_norm / s - variance
        edges.append(np.sqrt(sigma_sq) if sigma_sq >= 0 else np.nan)
    return tuple(edges)

def two_class_rate(sigma, mean_sq_norm, variance=1.0):
    """dH/dsigma (nats per unit sigma) for two classes +-m, from the I-MMSE identity."""
    sigma = np.asarray(sigma, dtype=np.float64)
    s = two_class_snr(sigma, mean_sq_norm, variance)
    gain = _log_odds_expectation(s, lambda L: 1 - np.tanh(L / 2) ** 2)
    return sigma ** -3 * (sigma ** 2 / (variance + sigma ** 2)) ** 2 * mean_sq_norm * gain

def two_class_collision(sigma, mean_sq_norm, variance=1.0):
    """phi = E[p(+ | X_sigma)^2 + p(- | X_sigma)^2] for two equiprobable classes +-m: the probability that two
    independent draws from the posterior agree, Biroli et al. 2024's clone agreement (arXiv:2402.18491, the
    speciation order parameter of their cloning experiment). With p = sigmoid(L), p^2 + (1 - p)^2 = 1 - (1 - tanh^2(L / 2)) / 2;
    from 1/2 at high noise to 1 at low noise; dimensionless, any shape of sigma."""
    gain = _log_odds_expectation(two_class_snr(sigma, mean_sq_norm, variance), lambda L: 1 - np.tanh(L / 2) ** 2)
    return 1 - gain / 2

def two_class_mmse(sigma, mean_sq_norm, dim, variance=1.0):
    """mmse(sigma) = E|X0 - E[X0 | X_sigma]|^2 (summed over the d coordinates, data units squared) of two
    equiprobable classes +-m in R^d with component variance v0: the within-class error d v0 sigma^2 /
    (v0 + sigma^2) plus sigma^3 dH[Z | X_sigma]/dsigma (two_class_rate; the law of total variance, as
    entropic.theory.exact.mixture_mmse). Any shape of sigma."""
    sigma = np.asarray(sigma, dtype=np.float64)
    return dim * variance * sigma ** 2 / (variance + sigma ** 2) + sigma ** 3 * two_class_rate(sigma, mean_sq_norm, variance)
