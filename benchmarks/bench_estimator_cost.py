"""Benchmark: denoiser calls each estimator needs for 0.01 nats on a 10-class mixture (issue 3's target).

Mixture: K = 10 equidistant classes, d = 10^4, unit signal per dimension (sigma_S = 33), exact denoisers.
Accuracy of a curve: its largest 2-standard-error half-width over the noise levels (the 95% error bound
at the worst level). Every estimator's error shrinks like 1/sqrt(calls), so the calls needed for a bound
of 0.01 nats are calls * (bound / 0.01)^2, measured here at one budget each:

- tracker: the paper's estimator, all 10 classes tracked (10 calls per step and trajectory), 64 steps;
- combined: the same trajectories and calls, the tracker's readout combined level by level with the I-MMSE
  integral read along them (entropic.posterior.compensated_curve);
- I-MMSE: 48 log-uniform levels, 2 calls per sample, after a pilot of 64 samples per level.

The paper's budget for one EDM2 curve is 3000 trajectories x 64 steps x 2 branches = 384,000 calls of the
binary form (class vs unconditional reference). The last lines measure that form with 3000 trajectories:
the paper's readout, and the combined one of the same trajectories, and the calls each estimator needs to
match the paper's accuracy at that budget.

    python benchmarks/bench_estimator_cost.py
"""

import numpy as np

from entropic import exact, gmm, gmm_estimators, noise, posterior, theory
from entropic import partitions as P
from entropic.denoisers import UNCONDITIONAL

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
    levels, hypotheses, labels, log_post, distances = gmm_estimators.track_mixture(mixture, sigmas, trajectories, seed=1,
                                                                                   keep_distances=True)
    tracked = posterior.tracked_curve(levels, hypotheses, labels, log_post, P.identity_partition(K))
    combined = posterior.compensated_curve(levels, hypotheses, labels, log_post, distances, P.identity_partition(K))
    tracker_calls = trajectories * STEPS * K
    reference = exact.exact_entropy_curve(mixture.project(), levels, classes, 512, 16, np.random.default_rng(2))
    tracker_error = np.abs(tracked['H'] - reference['H']).max()
    combined_error = np.abs(combined['H'] - reference['H']).max()

    budget = 20_000
    grid = noise.log_sigma_grid(LEVELS, sigma_s * 10 ** -2.5, sigma_s * 10 ** 1.5)
    immse = gmm_estimators.immse_mixture(mixture, grid, budget, PILOT, seed=3)
    immse_calls = 2 * (budget + PILOT * LEVELS)
    reference_grid = exact.exact_entropy_curve(mixture.project(), grid, classes, 512, 16, np.random.default_rng(4))
    immse_error = np.abs(immse['H'] - reference_grid['H']).max()

    tracker_needed = tracker_calls * (bound(tracked) / TARGET) ** 2
    combined_needed = tracker_calls * (bound(combined) / TARGET) ** 2
    immse_needed = immse_calls * (bound(immse) / TARGET) ** 2
    print(f'K={K}, d={DIM}, sigma_S={sigma_s:.1f}; accuracy = max over levels of 2 SE')
    print(f'  tracker:  {tracker_calls:>9} calls -> 2 SE {bound(tracked):.4f}, max |error| {tracker_error:.4f}; '
          f'needs {tracker_needed:,.0f} calls for {TARGET}')
    print(f'  combined: {tracker_calls:>9} calls -> 2 SE {bound(combined):.4f}, max |error| {combined_error:.4f}; '
          f'needs {combined_needed:,.0f} calls for {TARGET}')
    print(f'  I-MMSE:   {immse_calls:>9} calls -> 2 SE {bound(immse):.4f}, max |error| {immse_error:.4f}; '
          f'needs {immse_needed:,.0f} calls for {TARGET}')

    # The paper's budget: binary tracker (class 0 vs the unconditional reference), 3000 trajectories.
    levels, hypotheses, labels, log_post, distances = gmm_estimators.track_mixture(
        mixture, sigmas, 3000, seed=5, reference_class=0, keep_distances=True)
    binary = [[0], [UNCONDITIONAL]]
    paper = posterior.tracked_curve(levels, hypotheses, labels, log_post, binary)
    paper_combined = posterior.compensated_curve(levels, hypotheses, labels, log_post, distances, binary)
    paper_calls = 3000 * STEPS * 2
    combined_for_paper = paper_calls * (bound(paper_combined) / bound(paper)) ** 2
    immse_for_paper = immse_calls * (bound(immse) / bound(paper)) ** 2
    print(f'  paper tracker (binary, 3000 trajectories): {paper_calls} calls -> 2 SE {bound(paper):.4f}; the combined '
          f'readout of the same calls: 2 SE {bound(paper_combined):.4f}')
    print(f'  for the paper\'s bound: combined binary tracker {combined_for_paper:,.0f} calls, I-MMSE (10 classes) '
          f'{immse_for_paper:,.0f}')
    print(f'ratio  tracker calls / combined calls for {TARGET} nats (10 classes)         : {tracker_needed / combined_needed:.1f}')
    print(f'ratio  tracker calls / I-MMSE calls for {TARGET} nats (10 classes)           : {tracker_needed / immse_needed:.1f}')
    print(f"ratio  paper's budget / combined calls at the paper's accuracy (target >= 5) : {PAPER_CALLS / combined_for_paper:.1f}")
    print(f"ratio  paper's budget / I-MMSE calls at the paper's accuracy                 : {PAPER_CALLS / immse_for_paper:.1f}")
