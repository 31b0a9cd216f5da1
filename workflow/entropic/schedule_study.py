"""What a schedule buys at few function evaluations, on a Gaussian mixture where the truth is exact.

Unconditional samples of the mixture are drawn by the deterministic sampler (entropic.sampler.sample_ode) on a
given sigma grid (entropic.schedules), from the exact marginal at sigmas[0] and with the exact denoiser, so
that the only error is the discretisation's. The sampler runs in the span of the centred means
(entropic.gmm_estimators.in_span), which is exact: the posterior and the denoiser's class term depend on x only
through its projection, and the orthogonal part of every state follows one linear ODE, the same for every
trajectory, whose discretisation multiplies it by one number g (orthogonal_gain).

Metrics, per seed (one independent set of samples each), summarised over seeds with Student-t intervals:
- class_kl: KL(w || f) in nats between the mixture weights w and the class frequencies f_k = mean_i p(k | x_i)
  under the exact posterior. The soft frequency is unbiased for exact samples (E p(k | X0) = w_k), so the
  metric measures the sampler's error in how often it decides each class, with no assignment bias.
- span_kl: per class, the KL in nats from a Gaussian fitted to the samples in the span of the means (full
  covariance, each sample weighted by p(k | x_i)) to the component N(mu_k, v0 I_r); the prior-weighted mean
  over classes. Under exact sampling the weighted moments are the component's exactly (E[p(k | X) f(X)] =
  w_k E_k f), so the metric is 0 up to its small-sample bias, about (r + r (r + 1) / 2) / (2 n w_k).
- orthogonal_kl: the KL of the orthogonal complement's Gaussian, (d - r) / 2 (q - 1 - log q) with
  q = g^2 (v0 + sigma_max^2) / v0 the ratio of its variance to v0: exact, no sampling error; the same for every
  class. It is the error in the width of every component, which grows with d.
The exact samples' own values (exact_sample_metrics) are the floor of the sampled metrics at the same n.
"""

import math

import numpy as np
import scipy.stats
import torch

from . import gmm, sampler
from .denoisers import GMMDenoiser
from .gmm_estimators import in_span
from .partitions import UNCONDITIONAL

#----------------------------------------------------------------------------

def orthogonal_gain(variance, sigmas, solver='heun'):
    """g: the factor by which the sampler maps a coordinate orthogonal to the means from sigmas[0] to sigmas[-1]
    (the ODE there is linear, dx/dsigma = sigma x / (v0 + sigma^2), its exact g sqrt(v0 + sigma_max^2) / sqrt(v0)
    = 1). Computed by the sampler itself on the one-dimensional Gaussian N(0, v0)."""
    single = gmm.GaussianMixture(np.zeros((1, 1)), variance, np.ones(1))
    x = sampler.sample_ode(GMMDenoiser(single), sigmas, torch.zeros(1, dtype=torch.long),
                           torch.ones(1, 1, dtype=torch.float64), solver=solver)['x']
    return float(x[0, 0])

def sample_metrics(span, y):
    """class_kl and span_kl (module docstring) of samples y [n, r] of the mixture `span` (in_span's); floats."""
    y = np.asarray(y, dtype=np.float64)
    posterior = np.exp(span.log_posterior(y, 0.0))                    # [n, K]
    freq = posterior.mean(0)
    class_kl = float(np.sum(span.weights * (np.log(span.weights) - np.log(np.maximum(freq, 1e-300)))))
    r, v0 = span.dim, span.variance
    kls = []
    for k in range(span.num_components):
        weight = posterior[:, k] / posterior[:, k].sum()
        mean = weight @ y
        centred = y - mean
        cov = (weight[:, None] * centred).T @ centred                 # weighted second moment about the mean
        sign, logdet = np.linalg.slogdet(cov / v0)
        if sign <= 0:
            kls.append(np.inf)                                        # the samples collapse onto a subspace
            continue
        kls.append(0.5 * (np.trace(cov) / v0 + np.sum((mean - span.means[k]) ** 2) / v0 - r - logdet))
    return dict(class_kl=class_kl, span_kl=float(span.weights @ np.array(kls)))

def orthogonal_kl(mixture, sigmas, solver='heun'):
    """(d - r) / 2 (q - 1 - log q), q = g^2 (v0 + sigmas[0]^2) / v0 (module docstring); nats."""
    span = in_span(mixture)
    q = orthogonal_gain(mixture.variance, sigmas, solver) ** 2 * (mixture.variance + sigmas[0] ** 2) / mixture.variance
    return 0.5 * (mixture.dim - span.dim) * (q - 1 - math.log(q))

def schedule_run(
    mixture,        # entropic.gmm.GaussianMixture (any d)
    sigmas,         # [N+1] decreasing grid ending at 0 (entropic.schedules)
    num_samples,    # n unconditional samples
    seed,           # seeds the exact samples at sigmas[0]
    solver = 'heun',
):
    """One seed's metrics of the sampler on this grid: dict(class_kl, span_kl, orthogonal_kl, nfe)."""
    span = in_span(mixture)
    rng = np.random.default_rng(seed)
    y0, _ = span.sample(num_samples, rng)
    start = torch.as_tensor(y0 + sigmas[0] * rng.standard_normal(y0.shape))  # the exact marginal at sigma_max
    out = sampler.sample_ode(GMMDenoiser(span), sigmas, torch.full((num_samples,), UNCONDITIONAL), start, solver=solver)
    return dict(sample_metrics(span, out['x'].numpy()), orthogonal_kl=orthogonal_kl(mixture, sigmas, solver),
                nfe=out['nfe'])

def exact_sample_metrics(mixture, num_samples, seed):
    """The floor: the same metrics of n exact samples of the mixture (orthogonal_kl 0, nfe 0)."""
    span = in_span(mixture)
    y0, _ = span.sample(num_samples, np.random.default_rng(seed))
    return dict(sample_metrics(span, y0), orthogonal_kl=0.0, nfe=0)

def summarise(runs, ci_level=0.95):
    """{name: mean over the runs (seeds), name_lo, name_hi: its Student-t interval} for every metric of the
    runs (a list of dicts of floats); the interval is the point where every run agrees."""
    t = scipy.stats.t.ppf((1 + ci_level) / 2, len(runs) - 1) if len(runs) > 1 else np.inf
    out = {}
    for name in runs[0]:
        v = np.array([run[name] for run in runs], dtype=np.float64)
        half = t * v.std(ddof=1) / math.sqrt(len(v)) if np.ptp(v) > 0 else 0.0
        out[name], out[f'{name}_lo'], out[f'{name}_hi'] = v.mean(), v.mean() - half, v.mean() + half
    return out

def schedule_quality(
    mixture,        # entropic.gmm.GaussianMixture
    grids,          # {schedule name: [N+1] grid}
    num_samples,    # n per seed
    seeds,          # the seeds: one independent set of samples each, the same starts for every schedule
    solver = 'heun',
):
    """Rows, one per schedule and one for the exact samples (schedule 'exact samples'): dict(schedule, steps
    (N intervals), nfe, and summarise's mean and interval of class_kl, span_kl, orthogonal_kl)."""
    rows = [dict(schedule='exact samples', steps=0,
                 **summarise([exact_sample_metrics(mixture, num_samples, s) for s in seeds]))]
    for name, sigmas in grids.items():
        runs = [schedule_run(mixture, np.asarray(sigmas, dtype=np.float64), num_samples, s, solver) for s in seeds]
        rows.append(dict(schedule=name, steps=len(sigmas) - 1, **summarise(runs)))
    return rows
