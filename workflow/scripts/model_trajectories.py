"""Rule model_trajectories: one shard of sampler trajectories of a trained model, every hypothesis tracked."""

import torch

from entropic import io, networks, sampler, trained

log = io.job_logger(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
sampling, run, shard = snakemake.params.sampling, snakemake.params.run, int(snakemake.wildcards.shard)
net, meta = networks.load_checkpoint(snakemake.input.checkpoint)
num_classes = meta['num_classes']
labels = trained.shard_labels(trained.trajectory_labels(num_classes, sampling['trajectories']), sampling['shards'], shard)
sigmas = trained.sampler_sigmas(sampling['sampler'])
guidance = sampler.Guidance.from_config(run)
log.info(f"{snakemake.wildcards.model}/{snakemake.wildcards.run} shard {shard}: {len(labels)} trajectories, "
         f"{len(sigmas) - 1} steps from sigma {sigmas[0]:g}, {guidance}")
try:
    arrays = trained.sample_shard(networks.NetworkDenoiser(net), num_classes, labels, net.dim, sigmas, guidance,
                                  snakemake.params.seed, keep_denoised=sampling['snapshots'] if shard == 0 else 0)
except FloatingPointError as err:   # the sampler names the noise level; say which shard and checkpoint too
    raise FloatingPointError(f'{snakemake.wildcards.model}/{snakemake.wildcards.run} shard {shard} '
                             f'({snakemake.input.checkpoint}): {err}') from None
log.info(f"{int(arrays['calls'])} denoiser evaluations")
io.save_npz(snakemake.output[0], **arrays)
