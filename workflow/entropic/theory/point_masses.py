"""Exact entropy of a finite training set: the reference curve of a network trained on it.

A training set {x_p} with labels is a mixture of point masses, and the ideal denoiser of that mixture
is what a network converges to when it memorises (EDM's optimal denoiser). Given x = x0 + sigma n,

    p(p | x) ∝ w_p exp(-|x - x_p|^2 / (2 sigma^2)),     D(x; c) = sum_p p(p | x, c) x_p,

so the posterior of any variable whose hypotheses are mixtures of points (classes, cells of a
partition, the paper's binary form; `exact.Hypotheses` with points as components) is exact for every x.
The expectation over X_sigma is plain Monte Carlo: each sample is a fixed pair (x0 with its hypothesis,
direction n) reused at every noise level (common random numbers), so every sample is a whole curve
and the bootstrap of the speciation windows can resample them. The rate uses the I-MMSE identity in its
Rao-Blackwellised form (as in exact.py, with component variance 0):

    dH/dlog sigma = sigma^-2 E sum_c P(c | x) |D(x; c) - D(x)|^2.

The same posterior gives the collision probability phi = E sum_c P(c | x)^2 (exact.py), per sample.
"""

import numpy as np
from scipy.special import xlogy

from entropic.theory.exact import Hypotheses
from entropic.theory.partitions import UNCONDITIONAL

#----------------------------------------------------------------------------

def top_eigenvalue(points, weights=None):
    """Largest eigenvalue Lambda of the covariance of a weighted point set (Biroli et al.'s speciation scale)."""
    points = np.asarray(points, dtype=np.float64)
    w = np.full(len(points), 1 / len(points)) if weights is None else np.asarray(weights, dtype=np.float64)
    centred = points - w @ points
    return float(np.linalg.eigvalsh((centred * w[:, None]).T @ centred)[-1])

def empirical_entropy_curve(
    points,             # [P, d] the training set (data units)
    hypotheses,         # exact.Hypotheses over the P points (prior [C], component_weights [C, P])
    sigmas,             # [L] noise levels, EDM coordinates
    num_samples,        # N Monte Carlo samples (each a whole curve)
    rng,                # numpy Generator
    chunk = 512,        # samples per batch (memory: chunk x P floats)
):
    """H[Z' | X_sigma] in nats, its rate dH/dlog sigma and the collision probability phi, with standard errors;
    the dict layout of exact.exact_entropy_curve, with [L, N] per-sample values H_samples, rate_samples,
    phi_samples."""
    points = np.asarray(points, dtype=np.float64)
    data_weights, membership, in_play = hypotheses.soft_membership()       # membership: [P', C]
    points = points[in_play]
    sigmas = np.asarray(sigmas, dtype=np.float64)
    # Samples of the data joint: a point by its data weight, a direction n ~ N(0, I).
    source = rng.choice(len(points), size=num_samples, p=data_weights)
    directions = rng.standard_normal((num_samples, points.shape[1]))

    # Points with the same membership row form a block (for a partition of classes: a class). Sorted by block,
    # every posterior-weighted sum is one product over a contiguous slice, and the cells' x0 estimates
    # A_c = sum_p p_p M_pc x_p = sum_b M_bc S_b come from the blocks' sums S_b = sum_{p in b} p_p x_p.
    block_rows, block_of = np.unique(membership, axis=0, return_inverse=True)   # [nb, C], [P']
    order = np.argsort(block_of.ravel(), kind='stable')
    x0_all, points, log_w = points, points[order], np.log(data_weights)[order]
    bounds = np.searchsorted(block_of.ravel()[order], np.arange(len(block_rows) + 1))
    blocks = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    half_sq_norms = 0.5 * (points ** 2).sum(-1)
    # x . x_p = x0 . x_p + sigma n . x_p: the Gram matrix of the points and the directions' products, once per
    # chunk, make every level's logits elementwise.
    gram = x0_all @ points.T                                                # [P', P'] (rows: the source's order)

    H = np.zeros((len(sigmas), num_samples))
    rate = np.zeros((len(sigmas), num_samples))
    phi = np.zeros((len(sigmas), num_samples))
    for start in range(0, num_samples, chunk):
        rows = slice(start, start + chunk)
        signal, noise_proj = gram[source[rows]] - half_sq_norms, directions[rows] @ points.T   # [n, P'] each
        for j, sigma in enumerate(sigmas):
            logits = log_w + (signal + sigma * noise_proj) / sigma ** 2              # log p(p | x) + const: [n, P']
            post = np.exp(logits - logits.max(-1, keepdims=True))
            post /= post.sum(-1, keepdims=True)                                      # p(p | x)
            sums = np.stack([post[:, b] @ points[b] for b in blocks], 1)             # S_b: [n, nb, d]
            cell_prob = np.stack([post[:, b].sum(-1) for b in blocks], 1) @ block_rows   # P(c | x): [n, C]
            H[j, rows] = -xlogy(cell_prob, cell_prob).sum(-1)
            phi[j, rows] = (cell_prob ** 2).sum(-1)                                 # sum_c P(c | x)^2
            # sum_c P_c |D_c - D|^2 = sum_c |A_c|^2 / P_c - |D|^2 with A_c = P_c D_c and D = sum_b S_b.
            A = np.einsum('nbd,bc->ncd', sums, block_rows)                          # [n, C, d]
            between = np.divide((A ** 2).sum(-1), cell_prob, out=np.zeros_like(cell_prob),
                                where=cell_prob > 0).sum(-1) - (sums.sum(1) ** 2).sum(-1)
            rate[j, rows] = np.maximum(between, 0) / sigma ** 2
    n = np.full(len(sigmas), num_samples)
    return dict(H=H.mean(1), H_se=H.std(1, ddof=1) / np.sqrt(num_samples),
                rate=rate.mean(1), rate_se=rate.std(1, ddof=1) / np.sqrt(num_samples),
                phi=phi.mean(1), phi_se=phi.std(1, ddof=1) / np.sqrt(num_samples),
                n=n, H_samples=H, rate_samples=rate, phi_samples=phi)

def class_hypotheses(labels, cells):
    """exact.Hypotheses over the points of a labelled set for a partition of the class labels (cells of
    class indices, UNCONDITIONAL allowed): every point weighs the same within its class's cells."""
    labels = np.asarray(labels)
    point_cells = [list(np.flatnonzero(np.isin(labels, cell))) if list(cell) != [UNCONDITIONAL] else [UNCONDITIONAL]
                   for cell in cells]
    return Hypotheses.from_partition(np.full(len(labels), 1 / len(labels)), point_cells)
