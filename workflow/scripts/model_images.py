"""Rule model_images: a model's samples and snapshot x0 estimates decoded to images by its backend's decoder
(a VAE for latent models), for the figures, which then read images only.

Writes, uint8 in [0, 255]: `images/<run>` [K, per_class, H, W, 3] (the first samples of each hypothesis in
play; `counts/<run>` [K] how many are real, the rest zeros), `snapshot_images` [T, L, H, W, 3] (the x0
estimates of T unguided snapshot trajectories at L noise levels `snapshot_sigma`, decreasing), with
`snapshot_posterior` [L, T, K] (the tracked posterior over the hypotheses in play) and `snapshot_labels` [T];
and `classes` [K], `names` [K], `runs`."""

import numpy as np
import torch
from scipy.special import softmax

from entropic import backends
from entropic.files import job_log, store

log = job_log.start(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
backend = backends.get(snakemake.params.backend)
device = backend.device()
decode = backend.load_decoder(snakemake.input, device)
per_class, hypotheses, runs = snakemake.params.per_class, snakemake.params.hypotheses, snakemake.params.runs
classes = np.asarray(list(hypotheses))

def images(x):
    """x [N, ...] -> uint8 [N, H, W, 3], quantised as EDM2 quantises its decoded images (x * 255, truncated)."""
    return (np.clip(decode(x), 0, 1) * 255).astype(np.uint8)

arrays = dict(classes=classes, names=np.asarray(list(hypotheses.values())), runs=np.asarray(runs))
for run, path in zip(runs, snakemake.input.samples):
    sample = store.load_npz(path, keys=['x', 'labels'])
    rows = [np.flatnonzero(sample['labels'] == k)[:per_class] for k in classes]
    decoded = images(sample['x'][np.concatenate(rows)])
    out = np.zeros((len(classes), per_class, *decoded.shape[1:]), dtype=np.uint8)
    start = 0
    for i, r in enumerate(rows):
        out[i, :len(r)] = decoded[start:start + len(r)]
        start += len(r)
    arrays[f'images/{run}'], arrays[f'counts/{run}'] = out, np.asarray([len(r) for r in rows])
    log.info(f'{run}: {start} samples decoded to {decoded.shape[1:]} images on {device}')

unguided = store.load_npz(snakemake.input.samples[0], keys=['sigma', 'hypotheses', 'denoised', 'snapshot_labels',
                                                         'snapshot_log_posterior'])
sigma = unguided['sigma']                                     # increasing
levels = np.unique(np.linspace(len(sigma) - 1, 0, snakemake.params.levels).round().astype(int))[::-1]
in_play = unguided['hypotheses'] >= 0
trajectories = len(unguided['snapshot_labels'])
arrays['snapshot_images'] = np.stack([images(unguided['denoised'][levels, t]) for t in range(trajectories)])
arrays['snapshot_sigma'] = sigma[levels]
arrays['snapshot_posterior'] = softmax(unguided['snapshot_log_posterior'][levels][..., in_play], axis=-1)
arrays['snapshot_labels'] = unguided['snapshot_labels']
log.info(f'{trajectories} snapshot trajectories at sigma {np.round(sigma[levels], 3).tolist()}')
store.save_npz(snakemake.output[0], **arrays)
