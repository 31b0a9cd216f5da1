"""Rule model_trajectories: one shard of sampler trajectories of a model, every hypothesis in play tracked."""

import pandas as pd
import torch

from entropic import io, placement, sampler, trained

log = io.job_logger(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
sampling, run, shard = snakemake.params.sampling, snakemake.params.run, int(snakemake.wildcards.shard)
denoiser, num_classes, shape, device = trained.load_denoiser(snakemake.params.backend, snakemake.input,
                                                             snakemake.params.batch)
classes = snakemake.params.classes if snakemake.params.classes is not None else num_classes
labels = trained.shard_labels(trained.trajectory_labels(classes, sampling['trajectories']), sampling['shards'], shard)
sigmas = trained.sampler_sigmas(sampling['sampler'], denoiser)
if 'guidance_placement' in run:     # placed by the window fitted on another run (entropic.placement)
    guidance = placement.placed_guidance(run.get('guidance', 1.0), run['guidance_placement'],
                                         pd.read_csv(snakemake.input.windows), io.read_curve(snakemake.input.curve),
                                         source=snakemake.input.windows)
else:
    guidance = sampler.Guidance.from_config(run)
source = ', '.join(str(p) for p in snakemake.input if not str(p).endswith('.csv'))
log.info(f"{snakemake.wildcards.model}/{snakemake.wildcards.run} shard {shard}: {len(labels)} trajectories of "
         f"{len(trained.class_list(classes))} classes and the unconditional model on {device}, "
         f"{len(sigmas) - 1} steps from sigma {sigmas[0]:g}, guidance w = {guidance.scale:g} on {guidance.describe()}; "
         f"{source}")
try:
    arrays = trained.sample_shard(denoiser, classes, labels, shape, sigmas, guidance, snakemake.params.seed,
                                  keep_denoised=sampling['snapshots'] if shard == 0 else 0,
                                  keep_distances=sampling['keep_distances'], device=device,
                                  init_std=trained.initial_std(snakemake.params.backend, sigmas))
except FloatingPointError as err:   # the sampler names the noise level; say which shard and network too
    raise FloatingPointError(f'{snakemake.wildcards.model}/{snakemake.wildcards.run} shard {shard} '
                             f'({source}): {err}') from None
log.info(f"{int(arrays['calls'])} denoiser evaluations")
io.save_npz(snakemake.output[0], **arrays)
