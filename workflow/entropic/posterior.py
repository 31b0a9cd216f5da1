"""Entropy estimators for any denoiser: readouts of the tracked posterior, and I-MMSE on forward-noised data.

Tracking (entropic.sampler): each trajectory carries log p(h | x_sigma) for the hypotheses in play; its
posterior entropy, averaged over trajectories drawn from the joint (z, x), estimates H[f(Z) | X_sigma]
(PAPER.md 2.2). Under guidance the trajectories are not drawn from the model's joint, and the same
average is a cross-entropy (PAPER.md 2.1). The same trajectories also give the I-MMSE integrand at every
level from the denoiser calls the tracker already makes (compensated_entropies), a second estimate of the
curve with other noise; compensated_curve combines the two.

I-MMSE (Guo-Shamai-Verdu 2005; Kong et al. 2023; PAPER.md 2.2):

    H[Z | X_sigma] = H[Z] - int_sigma^inf E|D(x; s, z) - D(x; s)|^2 s^-3 ds,

with (z, x0) drawn from the data and x = x0 + s n, integrated over log s with weights that carry
every level's variance into the standard error; the entropy rate is the integrand itself.
"""

import numpy as np
import torch
from scipy.integrate import cumulative_simpson
from scipy.special import logsumexp

from . import partitions as P
from .denoisers import UNCONDITIONAL

#----------------------------------------------------------------------------
# Readouts of tracked posteriors.

def trajectory_entropies(log_posterior, hypotheses, labels, cells):
    """Per-trajectory posterior entropy of a partition, for the trajectories whose label is in play.

    log_posterior: [L, B, H] (entropic.sampler.sample), hypotheses: the H tracked conditions,
    labels: [B] each trajectory's condition, cells: lists of conditions (UNCONDITIONAL allowed).
    Returns [L, B'] in nats.
    """
    log_posterior = torch.as_tensor(log_posterior).cpu().numpy()
    column = {int(h): i for i, h in enumerate(hypotheses)}
    missing = [h for cell in cells for h in cell if h not in column]
    if missing:
        raise ValueError(f'cells name conditions that were not tracked: {missing}')
    in_play = {h for cell in cells for h in cell}
    keep = np.array([int(l) in in_play for l in torch.as_tensor(labels).cpu()])
    columns = [[column[h] for h in cell] for cell in cells]
    return P.entropy_from_log_probs(P.cell_log_posterior(log_posterior[:, keep], columns))

def rate_samples(sigmas, entropies):
    """Per-trajectory dH/dlog sigma by finite differences on the (increasing) grid; [L, N]."""
    return np.gradient(entropies, np.log(sigmas), axis=0)

def tracked_curve(levels, hypotheses, labels, log_posterior, cells):
    """Curve dict (exact.exact_entropy_curve's layout) of one partition from tracked posteriors on the
    increasing noise levels `levels` (log_posterior: [L, B, H] in that order)."""
    h = trajectory_entropies(log_posterior, hypotheses, labels, cells)   # [L, N]
    rates = rate_samples(levels, h)
    N = h.shape[1]
    return dict(H=h.mean(1), H_se=h.std(1, ddof=1) / np.sqrt(N), rate=rates.mean(1),
                rate_se=rates.std(1, ddof=1) / np.sqrt(N), n=np.full(len(levels), N), H_samples=h, rate_samples=rates)

#----------------------------------------------------------------------------
# The I-MMSE relation read along the tracked trajectories (no extra denoiser calls).

def compensated_entropies(levels, hypotheses, labels, log_posterior, distances, cells):
    """Per-trajectory H[cells | X_sigma] from the I-MMSE relation along the tracker's own trajectories, and
    the per-trajectory rate dH/dlog sigma; both [L, B'] on the increasing `levels`.

    The rate at a state x is the I-MMSE integrand with the tracked posterior's weights,
    r(x) = sum_c pi_c |D_c - D_bar|^2 / sigma^2 (D_c the cell's posterior-weighted x0 estimate, D_bar their
    mean), computed from the squared distances d_hg between the hypotheses' x0 estimates as the total
    minus the within-cell spread: 1/2 sum_hg pi_h pi_g d_hg - 1/2 sum_c (1 / pi_c) sum_{h,g in c} pi_h pi_g d_hg.
    H = the tracked entropy at the top level (the prior's) minus the integral of r over log sigma from there
    (cumulative Simpson). It is the compensator of the entropy along each trajectory (E[H] = E[h] when the
    sampler and the tracked posterior are exact), so it estimates the same curve as the tracker's h with
    other noise. log_posterior [L, B, H] and distances [L, B, H, H] are on `levels`, as sampler.sample keeps
    them (flipped)."""
    return _compensated(levels, hypotheses, labels, log_posterior, distances, cells)[1:]

def compensated_curve(levels, hypotheses, labels, log_posterior, distances, cells):
    """Curve dict (tracked_curve's layout) of one partition that combines the tracker's readout h and the
    compensated one H of the same trajectories, level by level, with the weight that minimises the variance
    of lam h + (1 - lam) H (from their sample covariance; its O(1/N) bias is far below the standard error).
    The rate is the I-MMSE integrand's mean. `weight` holds lam per level."""
    h, H, rates = _compensated(levels, hypotheses, labels, log_posterior, distances, cells)
    N = h.shape[1]
    var_h, var_H = h.var(1, ddof=1), H.var(1, ddof=1)
    cov = ((h - h.mean(1, keepdims=True)) * (H - H.mean(1, keepdims=True))).sum(1) / (N - 1)
    denominator = var_h + var_H - 2 * cov
    lam = np.clip(np.divide(var_H - cov, denominator, out=np.ones_like(var_h), where=denominator > 1e-30), 0, 1)
    combined = lam[:, None] * h + (1 - lam[:, None]) * H
    return dict(H=combined.mean(1), H_se=combined.std(1, ddof=1) / np.sqrt(N), rate=rates.mean(1),
                rate_se=rates.std(1, ddof=1) / np.sqrt(N), n=np.full(len(levels), N), weight=lam,
                H_samples=combined, rate_samples=rates)

def _compensated(levels, hypotheses, labels, log_posterior, distances, cells):
    """(tracked entropies h, compensated entropies H, rates), each [L, B'] (compensated_entropies)."""
    log_posterior, distances = np.asarray(log_posterior, dtype=np.float64), np.asarray(distances, dtype=np.float64)
    h = trajectory_entropies(log_posterior, hypotheses, labels, cells)        # checks the cells; [L, B']
    column = {int(x): i for i, x in enumerate(hypotheses)}
    in_play = [member for cell in cells for member in cell]
    cols = [column[member] for member in in_play]
    keep = np.isin(np.asarray(labels), in_play)
    lp = log_posterior[:, keep][:, :, cols]
    pi = np.exp(lp - logsumexp(lp, axis=-1, keepdims=True))                   # [L, B', P] over the hypotheses in play
    d = distances[:, keep][:, :, cols][:, :, :, cols]                         # [L, B', P, P]
    spread = 0.5 * np.einsum('lbh,lbg,lbhg->lb', pi, pi, d)
    start = 0
    for cell in cells:
        idx = slice(start, start + len(cell))
        start += len(cell)
        mass = pi[..., idx].sum(-1)
        within = 0.5 * np.einsum('lbh,lbg,lbhg->lb', pi[..., idx], pi[..., idx], d[:, :, idx, idx])
        spread -= np.divide(within, mass, out=np.zeros_like(within), where=mass > 0)
    rates = np.clip(spread, 0, None) / np.asarray(levels, dtype=np.float64)[:, None] ** 2   # clip: rounding only
    return h, h[-1] - integration_weights(np.log(levels)) @ rates, rates

#----------------------------------------------------------------------------
# I-MMSE on forward-noised data.

def integration_weights(log_sigmas):
    """W [L, L] with (W g)_j = int_{log sigma_j}^{log sigma_L} g (cumulative Simpson's rule, any spacing)."""
    L = len(log_sigmas)
    W = np.zeros((L, L))
    for k in range(L):
        unit = np.zeros(L)
        unit[k] = 1
        from_bottom = cumulative_simpson(unit, x=log_sigmas, initial=0)    # int_{first}^{j}
        W[:, k] = from_bottom[-1] - from_bottom
    return W

def immse_integrand(denoiser, x0, labels, sigma, generator):
    """Per-sample |D(x; s, z) - D(x; s)|^2 / s^2 with x = x0 + s n: the I-MMSE integrand of dH/dlog s; [n]."""
    x = x0 + sigma * torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
    both = denoiser(torch.cat([x, x]), sigma, torch.cat([labels, torch.full_like(labels, UNCONDITIONAL)]))
    diff = (both[:len(x)] - both[len(x):]).reshape(len(x), -1).double()
    return (diff ** 2).sum(-1) / sigma ** 2

def immse_curve(
    denoiser,           # D(x, sigma, labels) with an UNCONDITIONAL reference
    draw_data,          # draw_data(n) -> (x0 [n, ...] tensor, labels [n] long): samples of the data joint (z, x0)
    sigmas,             # [L] increasing noise levels; the top one must be well above the speciation scale
    prior_entropy,      # H[Z] in nats (log K for uniform classes)
    samples_per_level,  # [L] ints, or one int for every level
    generator,          # torch.Generator of the forward noise
    num_replicates = 16,  # independent groups per level, for the replicate curves behind bootstraps
):
    """H[Z | X_sigma] and its rate dH/dlog sigma with standard errors, and [L, R] replicate estimates.

    Above the top level the rate of any mixture decays like sigma^-2, so the tail of the integral is
    rate(sigma_L) / 2; it is added with its variance. Returns the dict layout of exact.exact_entropy_curve.
    """
    sigmas = np.asarray(sigmas, dtype=np.float64)
    counts = np.broadcast_to(samples_per_level, sigmas.shape).astype(int)
    if np.any(counts < num_replicates):
        raise ValueError(f'need at least {num_replicates} samples per level')
    coeff = integration_weights(np.log(sigmas))
    coeff[:, -1] += 0.5                                      # the tail above the top level: rate(sigma_L) / 2
    groups = np.zeros((len(sigmas), num_replicates))        # per-level group means of the integrand
    rate, rate_var = np.zeros(len(sigmas)), np.zeros(len(sigmas))
    for j, (sigma, n) in enumerate(zip(sigmas, counts)):
        x0, labels = draw_data(n)
        values = immse_integrand(denoiser, x0, labels, float(sigma), generator).cpu().numpy()
        if not np.all(np.isfinite(values)):
            raise FloatingPointError(f'the denoiser returned NaN or inf at sigma = {sigma:.6g}')
        rate[j], rate_var[j] = values.mean(), values.var(ddof=1) / n
        groups[j] = [chunk.mean() for chunk in np.array_split(values, num_replicates)]
    # Levels are drawn independently, so the variance of H_j = H[Z] - sum_k coeff_jk rate_k is sum_k coeff_jk^2 var_k.
    return dict(H=prior_entropy - coeff @ rate, H_se=np.sqrt((coeff ** 2) @ rate_var),
                rate=rate, rate_se=np.sqrt(rate_var), n=counts.copy(),
                H_samples=prior_entropy - coeff @ groups, rate_samples=groups)

def immse_allocated(
    denoiser,           # D(x, sigma, labels) with an UNCONDITIONAL reference
    draw_data,          # draw_data(n) -> (x0, labels): samples of the data joint (z, x0)
    sigmas,             # [L] increasing noise levels
    prior_entropy,      # H[Z] in nats
    budget,             # samples of the integrand over all levels (two denoiser calls each)
    pilot,              # pilot samples per level
    generator,          # torch.Generator of the forward noise
    num_replicates = 16,
    uniform_share  = 0.25,  # share of the budget spread evenly over the levels
):
    """immse_curve with the samples allocated by a pilot run.

    A share of the budget is spread evenly over the levels; the rest goes in proportion to (integration
    weight x integrand spread) measured by the pilot (Neyman allocation). The even share is defensive:
    near the onset of the transition the integrand is carried by rare draws that a small pilot misses
    (measured on k10-d1e4: pure Neyman allocation put 16 samples there and came out 0.02 nats low)."""
    spreads = np.array([immse_integrand(denoiser, *draw_data(pilot), float(s), generator).std().item() for s in sigmas])
    coeff = integration_weights(np.log(sigmas))
    coeff[:, -1] += 0.5
    share = np.abs(coeff[0]) * spreads                      # the lowest level accumulates every level's variance
    share = share / share.sum() if share.sum() > 0 else np.full(len(sigmas), 1 / len(sigmas))
    share = uniform_share / len(sigmas) + (1 - uniform_share) * share
    counts = np.maximum(num_replicates, np.round(share * budget).astype(int))
    return immse_curve(denoiser, draw_data, sigmas, prior_entropy, counts, generator, num_replicates)

