"""Rule model_reference_entropy: the exact curve of every partition that a trained model is measured against,
computed by its backend (digits: the training set as a mixture of point masses, entropic.theory.point_masses, what a
network that memorised it would give; a Gaussian mixture: the mixture itself, entropic.theory.exact)."""

import numpy as np

from entropic import backends
from entropic.files import curve_table, job_log, store
from entropic.theory import noise

log = job_log.start(snakemake.log[0])
spec = snakemake.params.data
backend = backends.get(spec['backend'])
partitions = store.read_json(snakemake.input.partitions)
settings, reference = snakemake.params.sampler, snakemake.params.reference
sigmas = noise.log_sigma_grid(reference['levels'], settings['sigma_min'], settings['sigma_max'])
rng = np.random.default_rng(snakemake.params.seed)
data = backend.training_data(spec, snakemake.input, snakemake.params.data_seed)

curves = {}
for part, entry in partitions.items():
    curve = backend.reference_curve(data, entry['cells'], sigmas, reference, rng)
    log.info(f"{part}: H from {curve['H'][0]:.4f} to {curve['H'][-1]:.4f} nats, max SE {curve['H_se'].max():.2g}")
    curves[part] = curve

curve_table.write_curves(curves, snakemake.wildcards.reference, 'entropy', sigmas, snakemake.output.curve,
                snakemake.output.samples)
