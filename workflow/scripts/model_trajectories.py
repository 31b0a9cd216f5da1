"""Rule model_trajectories: one shard of sampler trajectories of a model, every hypothesis in play tracked."""

import pandas as pd
import torch

from entropic import backends
from entropic.files import curve_table, job_log, store
from entropic.pipeline import trajectories
from entropic.method.runs import Run

log = job_log.start(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
sampling, shard = snakemake.params.sampling, int(snakemake.wildcards.shard)
run = Run.from_config(snakemake.wildcards.run, snakemake.params.run)
backend = backends.get(snakemake.params.spec['backend'])
model = backend.load(snakemake.params.spec, snakemake.input, snakemake.params.hypotheses, backend.device())
labels = trajectories.shard_labels(trajectories.trajectory_labels(model.classes, sampling['trajectories']),
                                   sampling['shards'], shard)
sigmas = model.sigmas(sampling['sampler'])
guidance = run.guidance(pd.read_csv(snakemake.input.windows), curve_table.read_curve(snakemake.input.curve),
                        where=snakemake.input.windows) if run.source else run.guidance()
source = ', '.join(str(p) for p in snakemake.input if not str(p).endswith('.csv'))
log.info(f"{snakemake.wildcards.model}/{run.name} shard {shard}: {len(labels)} trajectories of "
         f"{len(model.classes)} hypotheses and the unconditional model on {model.device}, "
         f"{len(sigmas) - 1} steps from sigma {sigmas[0]:g}, guidance w = {guidance.scale:g} on {guidance.describe()}; "
         f"{source}")
try:
    arrays = trajectories.sample_shard(model.denoiser, model.classes, labels, model.shape, sigmas, guidance,
                                       snakemake.params.seed, keep_denoised=sampling['snapshots'] if shard == 0 else 0,
                                       keep_distances=sampling['keep_distances'], device=model.device,
                                       init_std=model.init_std(sigmas))
except FloatingPointError as err:   # the sampler names the noise level; say which shard and network too
    raise FloatingPointError(f'{snakemake.wildcards.model}/{run.name} shard {shard} ({source}): {err}') from None
log.info(f"{int(arrays['calls'])} denoiser evaluations")
store.save_npz(snakemake.output[0], **arrays)
