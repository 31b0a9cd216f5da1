"""Benchmark: denoiser calls each estimator needs for 0.01 nats on a 10-class mixture (issue 3's target).

Mixture: K = 10 equidistant classes, d = 10^4, unit signal per dimension (sigma_S = 33), exact denoisers.
Accuracy of a curve: its largest 2-standard-error half-width over the noise levels (the 95% error bound
at the worst level). Both estimators' errors shrink like 1/sqrt(calls), so the calls needed for a bound
of 0.01 nats are calls * (bound / 0.01)^2, measured here at one budget each:

- tracker: the paper's estimator, all 10 classes tracked (10 calls per step and trajectory), 64 steps;
- I-MMSE: 48 log-uniform levels, 2 calls per sample, after a pilot of 64 samples per level.

The paper's budget for one EDM2 curve is 3000 trajectories x 64 steps x 2 branches = 384,000 calls;
the last line compares it with what I-MMSE needs to match the paper tracker's accuracy at that budget
(measured for the binary form, class vs unconditional reference, with 3000 trajectories).

    python benchmarks/bench_estimator_cost.py
"""

import numpy as np
import torch

from entropic import exact, gmm, gmm_estimators, noise, posterior, sampler, theory
from entropic import partitions as P
from entropic.denoisers import UNCONDITIONAL, GMMDenoiser

K, DIM, STEPS, LEVELS, PILOT, TARGET = 10, 10_000, 64, 48, 64, 0.01
PAPER_CALLS = 3000 * 64 * 2


def bound(curve):
    return 2 * curve['H_se'].max()


if __name__ == '__main__':
    mixture = gmm.simplex_mixture(K, DIM, 1.0, np.random.default_rng(0))
    sigma_s = theory.speciation_sigma(mixture.covariance_top_eigenvalue())
    classes = exact.Hypotheses.from_partition(mixture.weights, P.identity_partition(K))
    variant = dict(grid='edm', steps=STEPS, sigma_min=0.002, rho=7)
    sigmas = gmm_estimators.sampler_sigmas(variant, max(80.0, sigma_s * 10 ** 1.5))

    trajectories = 2000
    levels, *tracked = gmm_estimators.track_mixture(mixture, sigmas, trajectories, seed=1)
    tracked = posterior.tracked_curve(levels, *tracked, P.identity_partition(K))
    tracker_calls = trajectories * STEPS * K
    reference = exact.exact_entropy_curve(mixture.project(), levels, classes, 512, 16, np.random.default_rng(2))
    tracker_error = np.abs(tracked['H'] - reference['H']).max()

    budget = 20_000
    grid = noise.log_sigma_grid(LEVELS, sigma_s * 10 ** -2.5, sigma_s * 10 ** 1.5)
    immse = gmm_estimators.immse_mixture(mixture, grid, budget, PILOT, seed=3)
    immse_calls = 2 * (budget + PILOT * LEVELS)
    reference_grid = exact.exact_entropy_curve(mixture.project(), grid, classes, 512, 16, np.random.default_rng(4))
    immse_error = np.abs(immse['H'] - reference_grid['H']).max()

    tracker_needed = tracker_calls * (bound(tracked) / TARGET) ** 2
    immse_needed = immse_calls * (bound(immse) / TARGET) ** 2
    print(f'K={K}, d={DIM}, sigma_S={sigma_s:.1f}; accuracy = max over levels of 2 SE')
    print(f'  tracker: {tracker_calls:>9} calls -> 2 SE {bound(tracked):.4f}, max |error| {tracker_error:.4f}; '
          f'needs {tracker_needed:,.0f} calls for {TARGET}')
    print(f'  I-MMSE:  {immse_calls:>9} calls -> 2 SE {bound(immse):.4f}, max |error| {immse_error:.4f}; '
          f'needs {immse_needed:,.0f} calls for {TARGET}')

    # The paper's budget: binary tracker (class 0 vs the unconditional reference), 3000 trajectories.
    span = gmm_estimators.in_span(mixture)
    binary_labels = torch.tensor([0] * 1500 + [UNCONDITIONAL] * 1500)
    x = float(sigmas[0]) * torch.randn(3000, span.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    out = sampler.sample(GMMDenoiser(span), sigmas, binary_labels, x, torch.Generator().manual_seed(6),
                         hypotheses=[0, UNCONDITIONAL])
    h = posterior.trajectory_entropies(out['log_posterior'], [0, UNCONDITIONAL], binary_labels, [[0], [UNCONDITIONAL]])
    paper_bound = 2 * (h.std(1, ddof=1) / np.sqrt(h.shape[1])).max()
    immse_for_paper = immse_calls * (bound(immse) / paper_bound) ** 2
    print(f'  paper tracker (binary, 3000 trajectories): {out["calls"]} calls -> 2 SE {paper_bound:.4f}; '
          f'I-MMSE needs {immse_for_paper:,.0f} calls for the same bound')
    print(f'ratio  tracker calls / I-MMSE calls for {TARGET} nats                   : {tracker_needed / immse_needed:.1f}')
    print(f"ratio  paper's budget / I-MMSE calls at the paper's accuracy (target >= 5) : {PAPER_CALLS / immse_for_paper:.1f}")
