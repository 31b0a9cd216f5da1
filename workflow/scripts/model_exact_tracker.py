"""Rule model_exact_tracker: the paper's tracker with the exact denoiser of the mixture a model was trained
on, on the model's sampler grid and trajectory layout. Against the network's curve it isolates the learned
denoiser's error; against the exact curve, the tracker's own discretisation bias."""

import torch

from entropic import backends
from entropic.studies import mixture_estimators
from entropic.files import curve_table, job_log, store
from entropic.theory import noise
from entropic.method import posterior, sampler
from entropic.pipeline import trajectories
from entropic.method.denoisers import GMMDenoiser

log = job_log.start(snakemake.log[0])
spec = snakemake.params.data
data = backends.get(spec['backend']).training_data(spec, snakemake.input, 0)
span = mixture_estimators.in_span(data.mixture)      # exact for an isotropic mixture, at a cost independent of d
sampling = snakemake.params.sampling
labels = trajectories.trajectory_labels(data.num_classes, sampling['trajectories'])
sigmas = noise.EDMSchedule().sigmas(sampling['sampler'])
run = trajectories.sample_shard(GMMDenoiser(span), data.num_classes, labels, span.dim, torch.as_tensor(sigmas),
                                sampler.Guidance(), snakemake.params.seed)
partitions = store.read_json(snakemake.input.partitions)
curves = {}
for part, entry in partitions.items():
    curve = posterior.tracked_curve(run['sigma'], run['hypotheses'], run['labels'], run['log_posterior'], entry['cells'])
    log.info(f"{part}: H from {curve['H'][0]:.4f} to {curve['H'][-1]:.4f} nats, {curve['n'][0]} trajectories")
    curves[part] = curve
curve_table.write_curves(curves, 'exact-denoiser', 'entropy', run['sigma'], snakemake.output.curve, snakemake.output.samples)
