"""Rule model_reference_entropy: the exact curve of every partition that a trained model is measured against.

digits: the training set as a mixture of point masses (entropic.empirical); what a network that
memorised it would give. gmm: the mixture the training samples came from (entropic.exact)."""

import numpy as np

from entropic import empirical, exact, io, noise, trained

log = io.job_logger(snakemake.log[0])
spec = snakemake.params.data
partitions = io.read_json(snakemake.input.partitions)
settings, reference = snakemake.params.sampler, snakemake.params.reference
sigmas = noise.log_sigma_grid(reference['levels'], settings['sigma_min'], settings['sigma_max'])
rng = np.random.default_rng(snakemake.params.seed)
estimator = snakemake.wildcards.reference
x, labels, _, mixture = trained.training_data(spec, snakemake.input, snakemake.params.data_seed)
points, labels = x.double().numpy(), labels.numpy()

curves = {}
for part, entry in partitions.items():
    if spec['backend'] == 'gmm':
        hypotheses = exact.Hypotheses.from_partition(mixture.weights, entry['cells'])
        curve = exact.exact_entropy_curve(mixture.project(), sigmas, hypotheses, snakemake.params.exact['points'],
                                          snakemake.params.exact['replicates'], rng)
    else:
        hypotheses = empirical.class_hypotheses(labels, entry['cells'])
        curve = empirical.empirical_entropy_curve(points, hypotheses, sigmas, reference['samples'], rng)
    log.info(f"{part}: H from {curve['H'][0]:.4f} to {curve['H'][-1]:.4f} nats, max SE {curve['H_se'].max():.2g}")
    curves[part] = curve

io.write_curves(curves, estimator, 'entropy', sigmas, snakemake.output.curve, snakemake.output.samples)
