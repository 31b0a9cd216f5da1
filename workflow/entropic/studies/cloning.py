"""Biroli et al.'s cloning experiment on any denoiser: a check of the tracked posterior that needs no likelihood.

Run the unconditional sampler from its start down to a noise level sigma_b, copy every state x, continue both
copies to sigma = 0 with independent noise, and classify both ends (Biroli, Bonnaire, de Bortoli, Mezard 2024,
arXiv:2402.18491). If the continuations from x end in class c with probability p(c | x), the two agree with
probability sum_c p(c | x)^2, and the agreement rate over pairs estimates phi(sigma_b) = E sum_c p(c | X)^2:
the collision probability the tracker reads from its posteriors (posterior.tracked_curve). The tracker gets
p(c | x) from the network's class-conditional branches; cloning gets it from the unconditional branch's own
samples and a classifier. They agree when the branches are consistent and the classifier is right; their
difference measures how far a trained network (with its classifier) is from that.

The trunk (from sigma_max down to the lowest branch level) is one run shared by every level, so the levels'
estimates are correlated with each other; at each level the pairs are independent, and the agreement rate's
standard error is binomial.
"""

import numpy as np
import pandas as pd
import torch

from entropic.theory import noise
from entropic.method import sampler
from entropic.theory.partitions import UNCONDITIONAL

#----------------------------------------------------------------------------

def branch_indices(sigmas, levels):
    """Indices into the sampler's decreasing grid `sigmas` (ending at 0) of the grid levels nearest in log sigma to
    the requested `levels`, in decreasing sigma. Raises ValueError for a level outside the grid's nonzero range or
    two levels that fall on the same grid level."""
    grid = np.asarray(sigmas, dtype=np.float64)[:-1]
    levels = np.asarray(levels, dtype=np.float64)
    outside = levels[(levels < grid[-1]) | (levels > grid[0])]
    if len(outside):
        raise ValueError(f'levels {outside.tolist()} lie outside the sampler grid [{grid[-1]:g}, {grid[0]:g}]')
    index = np.abs(np.log(grid)[None] - np.log(levels)[:, None]).argmin(1)
    if len(set(index.tolist())) < len(index):
        raise ValueError(f'levels {levels.tolist()} fall on the same sampler level ({grid[index].tolist()}); '
                         'choose levels further apart or more sampler steps')
    return np.sort(index)

def clone_pairs(
    denoiser,           # D(x, sigma, labels) with an UNCONDITIONAL branch
    sigmas,             # the sampler's decreasing grid, ending at 0
    indices,            # branch_indices: the grid levels to branch at
    num_pairs,          # N clone pairs per level
    shape,              # shape of one sample: an int (flat data) or a tuple
    seed,               # seeds the trunk (initial state and steps) and, derived, every level's continuations
    init_std = None,    # standard deviation of the initial state; None: sigmas[0]
    device   = 'cpu',
):
    """The ends of the clone pairs: dict(sigma=[L] branch levels in decreasing order, first=[L, N, ...],
    second=[L, N, ...] the two clones' samples at sigma = 0, calls=denoiser evaluations (rows))."""
    grid = np.asarray(sigmas, dtype=np.float64)
    sigmas = torch.as_tensor(grid)
    x, generator = sampler.initial_state(num_pairs, shape, sigmas[0] if init_std is None else init_std, seed, device)
    labels = torch.full((num_pairs,), UNCONDITIONAL, dtype=torch.long, device=device)
    first, second, calls, at = [], [], 0, 0
    for i in indices:
        if i > at:                                  # the trunk from the previous branch level down to this one
            out = sampler.sample(denoiser, sigmas[at:i + 1], labels, x, generator)
            x, calls, at = out['x'], calls + out['calls'], i
        continuation = torch.Generator().manual_seed(_level_seed(seed, i))    # on the CPU: see sampler.normal
        out = sampler.sample(denoiser, sigmas[i:], torch.cat([labels, labels]), torch.cat([x, x]), continuation)
        first.append(out['x'][:num_pairs].cpu().numpy())
        second.append(out['x'][num_pairs:].cpu().numpy())
        calls += out['calls']
    return dict(sigma=grid[np.asarray(indices)], first=np.stack(first), second=np.stack(second), calls=calls)

def _level_seed(seed, index):
    """The seed of the continuations from grid level `index`: independent of the trunk's and of other levels'."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])

def agreement_rates(sigma, first_classes, second_classes):
    """The clone agreement per level: DataFrame with sigma, t (VP time), pairs, agreement (fraction of pairs whose
    ends share a class) and agreement_se (binomial); first_classes, second_classes [L, N] class indices."""
    same = np.asarray(first_classes) == np.asarray(second_classes)
    rate = same.mean(1)
    sigma = np.asarray(sigma, dtype=np.float64)
    return pd.DataFrame(dict(sigma=sigma, t=noise.sigma_to_vp_time(sigma), pairs=same.shape[1], agreement=rate,
                             agreement_se=np.sqrt(rate * (1 - rate) / same.shape[1])))
