"""Rule gmm_tracker_bias: the tracker's discretisation bias against the number of sampler steps.

For each step count N and kernel choice, track the experiment's classes and compare with the exact
entropy at the tracker's own noise levels; record the signed error at the level where it is largest
in absolute value, with that level's standard error (tracker and exact combined)."""

import numpy as np
import pandas as pd

from entropic.theory import exact, mixtures, noise
from entropic.studies import mixture_estimators
from entropic.files import job_log, store
from entropic.method import posterior
from entropic.theory import partitions as P

KERNELS = {  # name: (tracking kernel, sampler variance)
    'paper (sampler variance)': ('sampler', 'sampler'),
    'exact variance in the likelihood': ('exact', 'sampler'),
    'exact variance in likelihood and sampler': ('exact', 'exact'),
}

log = job_log.start(snakemake.log[0])
info = store.read_json(snakemake.input.mixture)
mixture = mixtures.load_mixture(snakemake.input.means, info)
study = snakemake.params.study
classes = P.identity_partition(mixture.num_components)
hypotheses = exact.Hypotheses.from_partition(mixture.weights, classes)
rng = np.random.default_rng(snakemake.params.seed)
sigma_max = max(80.0, info['sigma_S'] * 10 ** 1.5)

rows = []
for steps in study['steps']:
    sigmas = noise.edm_sigma_grid(steps, sigma_max=sigma_max, append_zero=True)
    reference = exact.exact_entropy_curve(mixture.project(), sigmas[:-1][::-1], hypotheses,
                                          snakemake.params.exact['points'], snakemake.params.exact['replicates'], rng)
    for name, (kernel, sampler_variance) in KERNELS.items():
        try:
            levels, *tracked, _ = mixture_estimators.track_mixture(
                mixture, sigmas, study['trajectories'], snakemake.params.seed + steps, kernel=kernel,
                sampler_variance=sampler_variance)
        except FloatingPointError as err:   # the sampler names the noise level and hypothesis; say which run
            raise FloatingPointError(f"gmm/{info['name']} tracker bias, {steps} steps, kernel {name} "
                                     f"({snakemake.input.means}): {err}") from None
        curve = posterior.tracked_curve(levels, *tracked, classes)
        error = curve['H'] - reference['H']
        worst = int(np.argmax(np.abs(error)))
        se = float(np.hypot(curve['H_se'][worst], reference['H_se'][worst]))
        rows.append(dict(experiment=info['name'], steps=steps, kernel=name, bias=error[worst], bias_se=se,
                         sigma=levels[worst], steps_times_bias=steps * error[worst], trajectories=curve['n'][0]))
        log.info(f'N={steps:4d} {name}: bias {error[worst]:+.4f} +- {se:.4f} at sigma {levels[worst]:.3g}')

store.write_csv(pd.DataFrame(rows), snakemake.output[0])
