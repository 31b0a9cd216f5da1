"""Rule model_train: train a model's denoiser on the CPU; write the checkpoint and the loss curve."""

import time

import pandas as pd
import torch

from entropic import backends
from entropic.files import job_log, store
from entropic.networks import mlp, training

log = job_log.start(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
spec = snakemake.params.data
data = backends.get(spec['backend']).training_data(spec, snakemake.input, snakemake.params.data_seed)
x, labels = data.x, data.labels
sigma_data = float(x.std())
torch.manual_seed(snakemake.params.seed)    # the initial weights
net = mlp.EDMPrecond(dim=x.shape[1], num_classes=data.num_classes, sigma_data=sigma_data, **snakemake.params.network)
settings = snakemake.params.training
log.info(f"{snakemake.wildcards.model}: {len(x)} training samples of dimension {x.shape[1]}, {data.num_classes} classes, "
         f"sigma_data={sigma_data:.4f}, {sum(p.numel() for p in net.parameters()):,} parameters; {settings}")
start = time.perf_counter()
ema, losses = training.train_denoiser(net, x, labels, seed=snakemake.params.seed, progress=True, **settings)
seconds = time.perf_counter() - start
log.info(f'trained in {seconds:.1f} s; loss {losses[:100].mean():.4f} (first 100 steps) -> {losses[-100:].mean():.4f} (last 100)')
store.write_csv(pd.DataFrame(dict(step=range(1, len(losses) + 1), loss=losses)), snakemake.output.losses)
mlp.save_checkpoint(snakemake.output.checkpoint, ema, dict(
    model=snakemake.wildcards.model, backend=spec['backend'], num_classes=data.num_classes, sigma_data=sigma_data,
    training=settings, threads=snakemake.threads))   # no wall time: the file must be the same on every rerun
