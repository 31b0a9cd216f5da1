"""Rule gmm_exact_entropy: the exact entropy curve of every partition of one mixture."""

import numpy as np

from entropic.theory import exact, mixtures, noise
from entropic.files import curve_table, job_log, store

log = job_log.start(snakemake.log[0])
info = store.read_json(snakemake.input.mixture)
partitions = store.read_json(snakemake.input.partitions)
mixture = mixtures.load_mixture(snakemake.input.means, info)
projected = mixture.project()
grid = snakemake.params.grid
sigmas = noise.log_sigma_grid(grid['levels'], info['sigma_S'] * 10 ** -grid['decades_below'],
                              info['sigma_S'] * 10 ** grid['decades_above'])
rng = np.random.default_rng(snakemake.params.seed)

curves = {}
for part, entry in partitions.items():
    hypotheses = exact.Hypotheses.from_partition(mixture.weights, entry['cells'])
    curve = exact.exact_entropy_curve(projected, sigmas, hypotheses, snakemake.params.exact['points'],
                                      snakemake.params.exact['replicates'], rng)
    log.info(f"{part}: H from {curve['H'][0]:.4f} to {curve['H'][-1]:.4f} nats, max SE {curve['H_se'].max():.2g}, "
             f"{curve['n'][0]} evaluations per level")
    curves[part] = curve

curve_table.write_curves(curves, 'exact', 'entropy', sigmas, snakemake.output.curve, snakemake.output.samples)
