"""Rule gmm_track_entropy: the paper's estimator (posterior tracking along sampler trajectories) on one
mixture, one tracker variant; every partition is read from the same trajectories."""

import pandas as pd

from entropic import gmm, gmm_estimators, io

log = io.job_logger(snakemake.log[0])
info = io.read_json(snakemake.input.mixture)
partitions = io.read_json(snakemake.input.partitions)
mixture = gmm.load_mixture(snakemake.input.means, info)
variant, name = snakemake.params.variant, snakemake.wildcards.tracker
sigmas = gmm_estimators.sampler_sigmas(variant, max(80.0, info['sigma_S'] * 10 ** snakemake.params.decades_above))
guidance = gmm_estimators.guidance_of(variant)
readout = 'entropy' if guidance.scale == 1 else 'cross-entropy'
log.info(f'{name}: {len(sigmas) - 1} steps from sigma {sigmas[0]:.4g}, {snakemake.params.trajectories} trajectories, '
         f'{variant}; readout: {readout}')
levels, labels, log_post = gmm_estimators.track_mixture(
    mixture, sigmas, snakemake.params.trajectories, snakemake.params.seed, start=variant['start'], progress=True,
    guidance=guidance, kernel=variant['kernel'], sampler_variance=variant['sampler_variance'])

frames, samples = [], {}
for part, entry in partitions.items():
    curve = gmm_estimators.tracked_curve(levels, labels, log_post, entry['cells'])
    log.info(f"{part}: H from {curve['H'][0]:.4f} to {curve['H'][-1]:.4f} nats, max SE {curve['H_se'].max():.2g}, "
             f"{curve['n'][0]} trajectories")
    frames.append(io.curve_frame(part, name, readout, levels, curve))
    samples[f'{part}/H'], samples[f'{part}/rate'] = curve['H_samples'], curve['rate_samples']

io.write_csv(pd.concat(frames, ignore_index=True), snakemake.output.curve)
io.save_npz(snakemake.output.samples, sigma=levels, **samples)
