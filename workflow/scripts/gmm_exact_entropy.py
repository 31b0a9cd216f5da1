"""Rule gmm_exact_entropy: the exact entropy curve of every partition of one mixture."""

import numpy as np
import pandas as pd

from entropic import exact, gmm, io, noise

log = io.job_logger(snakemake.log[0])
info = io.read_json(snakemake.input.mixture)
partitions = io.read_json(snakemake.input.partitions)
mixture = gmm.GaussianMixture(np.load(snakemake.input.means), info['variance'], np.array(info['weights']))
projected = mixture.project()
grid = snakemake.params.grid
sigmas = noise.log_sigma_grid(grid['levels'], info['sigma_S'] * 10 ** -grid['decades_below'],
                              info['sigma_S'] * 10 ** grid['decades_above'])
rng = np.random.default_rng([snakemake.params.seed, 1])

frames, samples = [], {}
for part, entry in partitions.items():
    curve = exact.exact_entropy_curve(projected, sigmas, exact.Hypotheses.from_partition(mixture.weights, entry['cells']), snakemake.params.exact['points'],
                                      snakemake.params.exact['replicates'], rng)
    log.info(f"{part}: H from {curve['H'][0]:.4f} to {curve['H'][-1]:.4f} nats, max SE {curve['H_se'].max():.2g}, "
             f"{curve['n'][0]} evaluations per level")
    frames.append(pd.DataFrame(dict(
        partition=part, estimator='exact', sigma=sigmas, t=noise.sigma_to_vp_time(sigmas),
        log_snr=noise.sigma_to_log_snr(sigmas), **{k: curve[k] for k in ('H', 'H_se', 'rate', 'rate_se', 'n')})))
    samples[f'{part}/H'] = curve['H_samples']
    samples[f'{part}/rate'] = curve['rate_samples']

io.write_csv(pd.concat(frames, ignore_index=True), snakemake.output.curve)
io.save_npz(snakemake.output.samples, sigma=sigmas, **samples)
