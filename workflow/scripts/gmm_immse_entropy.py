"""Rule gmm_immse_entropy: H[Z | X_sigma] of one mixture by the I-MMSE integral on forward-noised samples."""

from entropic.theory import mixtures, noise
from entropic.studies import mixture_estimators
from entropic.files import curve_table, job_log, store

log = job_log.start(snakemake.log[0])
info = store.read_json(snakemake.input.mixture)
mixture = mixtures.load_mixture(snakemake.input.means, info)
grid, settings = snakemake.params.grid, snakemake.params.immse
sigmas = noise.log_sigma_grid(settings['levels'], info['sigma_S'] * 10 ** -grid['decades_below'],
                              info['sigma_S'] * 10 ** grid['decades_above'])
curve = mixture_estimators.immse_mixture(mixture, sigmas, settings['samples'], settings['pilot'], snakemake.params.seed)
log.info(f"classes: H from {curve['H'][0]:.4f} to {curve['H'][-1]:.4f} nats, max SE {curve['H_se'].max():.2g}, "
         f"{2 * curve['n'].sum()} denoiser calls after a pilot of {2 * settings['pilot'] * len(sigmas)}")
curve_table.write_curves({'classes': curve}, 'immse', 'entropy', sigmas, snakemake.output.curve, snakemake.output.samples)
