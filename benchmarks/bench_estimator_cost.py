"""Benchmark: denoiser calls each estimator needs for a given accuracy (issue 3's targets).

Accuracy of a curve: its largest 2-standard-error half-width over the noise levels (the 95% error bound
at the worst level). Every estimator's error shrinks like 1/sqrt(calls), so the calls needed for a bound
b are calls * (bound / b)^2, measured at one budget each. Tracker standard errors are stratified by label
(the design fixes how many trajectories each label gets).

1. The 10-class curve of a mixture with K = 10 equidistant classes, d = 10^4, unit signal per dimension
   (sigma_S = 33), exact denoisers; calls for 0.01 nats:
   - tracker: the paper's estimator, all 10 classes tracked (10 calls per step and trajectory), 64 steps;
   - combined: the same trajectories and calls, less the posterior martingales as control variates
     (entropic.method.posterior.compensated_curve: the same expectation, no extra call);
   - I-MMSE: 48 log-uniform levels, 2 calls per sample, after a pilot of 64 samples per level.
2. The paper's budget for one EDM2 curve: 3000 trajectories x 64 steps x 2 branches = 384,000 calls of the
   binary form (class vs the unconditional reference, half the trajectories from each). On the mixture
   above (its grid reaches sigma = 1054) and on k10-d9 (variance 1, sigma_S = 1, on the paper's own grid,
   sigma in [0.002, 80]): the paper's readout, and the combined readout of the same calls, each over four
   seeds; then the combined readout run directly with 600 trajectories, a fifth of the calls.

    python benchmarks/bench_estimator_cost.py
"""

import numpy as np

from entropic.theory import exact, mixtures, noise, closed_forms
from entropic.studies import mixture_estimators
from entropic.method import posterior
from entropic.theory import partitions as P
from entropic.method.denoisers import UNCONDITIONAL

K, DIM, STEPS, LEVELS, PILOT, TARGET = 10, 10_000, 64, 48, 64, 0.01
PAPER_TRAJECTORIES, SEEDS = 3000, 4


def bound(se):
    return 2 * se.max()


def binary_bounds(mixture, sigmas, trajectories, seed):
    """(paper's bound, combined bound) of the binary form, class 0 against the reference, one run."""
    levels, hypotheses, labels, log_post, distances = mixture_estimators.track_mixture(
        mixture, sigmas, trajectories, seed=seed, reference_class=0, keep_distances=True)
    cells = [[0], [UNCONDITIONAL]]
    paper = posterior.tracked_curve(levels, hypotheses, labels, log_post, cells)
    combined = posterior.compensated_curve(levels, hypotheses, labels, log_post, distances, cells, seed=seed)
    return bound(posterior.stratified_se(paper['H_samples'], labels.numpy())), bound(combined['H_se'])


if __name__ == '__main__':
    mixture = mixtures.simplex_mixture(K, DIM, 1.0, np.random.default_rng(0))
    sigma_s = closed_forms.speciation_sigma(mixture.covariance_top_eigenvalue())
    classes = exact.Hypotheses.from_partition(mixture.weights, P.identity_partition(K))
    variant = dict(grid='edm', steps=STEPS, sigma_min=0.002, rho=7)
    sigmas = mixture_estimators.sampler_sigmas(variant, max(80.0, sigma_s * 10 ** 1.5))

    trajectories = 2000
    levels, hypotheses, labels, log_post, distances = mixture_estimators.track_mixture(mixture, sigmas, trajectories, seed=1,
                                                                                   keep_distances=True)
    tracked = posterior.tracked_curve(levels, hypotheses, labels, log_post, P.identity_partition(K))
    tracked_se = posterior.stratified_se(tracked['H_samples'], labels.numpy())
    combined = posterior.compensated_curve(levels, hypotheses, labels, log_post, distances, P.identity_partition(K))
    tracker_calls = trajectories * STEPS * K
    reference = exact.exact_entropy_curve(mixture.project(), levels, classes, 512, 16, np.random.default_rng(2))
    tracker_error = np.abs(tracked['H'] - reference['H']).max()
    combined_error = np.abs(combined['H'] - reference['H']).max()

    budget = 20_000
    grid = noise.log_sigma_grid(LEVELS, sigma_s * 10 ** -2.5, sigma_s * 10 ** 1.5)
    immse = mixture_estimators.immse_mixture(mixture, grid, budget, PILOT, seed=3)
    immse_calls = 2 * (budget + PILOT * LEVELS)
    reference_grid = exact.exact_entropy_curve(mixture.project(), grid, classes, 512, 16, np.random.default_rng(4))
    immse_error = np.abs(immse['H'] - reference_grid['H']).max()

    tracker_needed = tracker_calls * (bound(tracked_se) / TARGET) ** 2
    combined_needed = tracker_calls * (bound(combined['H_se']) / TARGET) ** 2
    immse_needed = immse_calls * (bound(immse['H_se']) / TARGET) ** 2
    print(f'10-class curve: K={K}, d={DIM}, sigma_S={sigma_s:.1f}; accuracy = max over levels of 2 SE')
    print(f'  tracker:  {tracker_calls:>9} calls -> 2 SE {bound(tracked_se):.4f}, max |error| {tracker_error:.4f}; '
          f'needs {tracker_needed:,.0f} calls for {TARGET}')
    print(f'  combined: {tracker_calls:>9} calls -> 2 SE {bound(combined["H_se"]):.4f}, max |error| {combined_error:.4f}; '
          f'needs {combined_needed:,.0f} calls for {TARGET}')
    print(f'  I-MMSE:   {immse_calls:>9} calls -> 2 SE {bound(immse["H_se"]):.4f}, max |error| {immse_error:.4f}; '
          f'needs {immse_needed:,.0f} calls for {TARGET}')

    # The paper's budget: the binary form, on this mixture and on k10-d9 on the paper's grid.
    k10_d9 = mixtures.simplex_mixture(K, K - 1, 1.0, np.random.default_rng(0), variance=1.0)
    ratios = {}
    for name, mix, grid_sigmas in (('d=10^4', mixture, sigmas), ('k10-d9', k10_d9, noise.edm_sigma_grid(STEPS, append_zero=True))):
        full = np.array([binary_bounds(mix, grid_sigmas, PAPER_TRAJECTORIES, seed) for seed in range(10, 10 + SEEDS)])
        fifth = np.array([binary_bounds(mix, grid_sigmas, PAPER_TRAJECTORIES // 5, seed)[1] for seed in range(20, 20 + SEEDS)])
        paper, same_calls = full.mean(0)
        ratios[name] = ((paper / same_calls) ** 2, paper / fifth.mean())
        print(f'binary form, {name}, sigma in [{grid_sigmas[-2]:g}, {grid_sigmas[0]:.4g}] (mean of {SEEDS} seeds): paper '
              f'{PAPER_TRAJECTORIES} trajectories -> 2 SE {paper:.4f}; combined readout of the same calls {same_calls:.4f}; '
              f'combined with {PAPER_TRAJECTORIES // 5} trajectories {fifth.mean():.4f}')
    print(f'ratio  tracker calls / combined calls for {TARGET} nats (10 classes)        : {tracker_needed / combined_needed:.1f}')
    print(f'ratio  tracker calls / I-MMSE calls for {TARGET} nats (10 classes)          : {tracker_needed / immse_needed:.1f}')
    for name, (calls_ratio, fifth_ratio) in ratios.items():
        print(f"ratio  paper's budget / combined calls at the paper's accuracy, {name:7s} (target >= 5): {calls_ratio:.1f}")
        print(f"ratio  paper's 2 SE / combined 2 SE with a fifth of the calls, {name:7s} (>= 1 meets 5x): {fifth_ratio:.2f}")
