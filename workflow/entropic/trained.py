"""The trained-model track: a model's data and partitions, and its trajectories sharded by seed.

A trained model is a denoiser network with K classes and an unconditional branch (the null label). Its
hypotheses are the K classes and the unconditional model (UNCONDITIONAL); every run of the sampler
tracks all K + 1 at once (entropic.sampler.sample), so any partition, and the paper's binary form
`<k>-vs-reference` for every class, is read afterwards from the same trajectories
(entropic.posterior.tracked_curve). The trajectories of a run are split evenly over the K classes and
the unconditional model, so that every binary form has the paper's prior 1/2 (PAPER.md 2.1) and the
`classes` curve has the uniform prior of the (near-balanced) classes.
"""

import numpy as np
import torch

from . import digits, gmm, io, noise, sampler, theory
from . import partitions as P
from .partitions import UNCONDITIONAL

#----------------------------------------------------------------------------
# Data and partitions.

def training_data(spec, inputs, seed=0):
    """(x [N, d] float32, labels [N] long, num_classes, mixture or None) of a model's data spec (backend,
    experiment, train_samples); `inputs` has the paths `means` and `mixture` of the gmm backend's experiment."""
    if spec['backend'] == 'digits':
        x, labels = digits.load_digits()
        return x, labels, digits.NUM_CLASSES, None
    if spec['backend'] == 'gmm':
        mixture = gmm.load_mixture(inputs.means, io.read_json(inputs.mixture))
        x, z = mixture.sample(spec['train_samples'], np.random.default_rng(seed))
        return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(z, dtype=torch.long), mixture.num_components, mixture
    raise ValueError(f"unknown backend {spec['backend']!r}")

def built_in_partitions(num_classes):
    """`classes` and the paper's binary form `<k>-vs-reference` for every class."""
    parts = {'classes': P.identity_partition(num_classes)}
    parts.update({f'{k}-vs-reference': [[k], [UNCONDITIONAL]] for k in range(num_classes)})
    return parts

def partition_info(partitions, num_classes, top_eigenvalue):
    """partitions.json entries: cells and the speciation scale (Lambda, t_S, sigma_S) of the data each acts
    on; top_eigenvalue(classes in play) -> Lambda of those classes' data."""
    info = {}
    for name, cells in partitions.items():
        top = float(top_eigenvalue(P.in_play(cells, num_classes)))
        info[name] = dict(cells=cells, Lambda=top, t_S=float(theory.speciation_time(top)),
                          sigma_S=float(theory.speciation_sigma(top)))
    return info

#----------------------------------------------------------------------------
# Trajectories.

def sampler_sigmas(settings):
    """Decreasing EDM noise levels ending at 0 (the paper's grid by default)."""
    return noise.edm_sigma_grid(settings['steps'], settings['sigma_min'], settings['sigma_max'], settings['rho'],
                                append_zero=True)

def trajectory_labels(num_classes, total):
    """Equal numbers of trajectories per class and for the unconditional model, interleaved (0, 1, ..., K-1,
    UNCONDITIONAL, 0, 1, ...); [n (K + 1)] long."""
    per = total // (num_classes + 1)
    if per < 1:
        raise ValueError(f'{total} trajectories cannot cover {num_classes} classes and the unconditional model')
    return torch.as_tensor(np.tile(np.append(np.arange(num_classes), UNCONDITIONAL), per))

def shard_labels(labels, shards, shard):
    """Shard `shard` of `shards` takes every shards-th trajectory, so every shard has the same class mix."""
    if not 0 <= shard < shards or shards > len(labels):
        raise ValueError(f'shard {shard} of {shards} for {len(labels)} trajectories')
    return labels[shard::shards]

def sample_shard(
    denoiser,           # D(x, sigma, labels) with classes 0..K-1 and UNCONDITIONAL
    num_classes,        # K
    labels,             # [B] the condition of each trajectory
    dim,                # data dimension (flat)
    sigmas,             # decreasing, ending at 0
    guidance,           # sampler.Guidance
    seed,               # seeds the initial noise and the step noise
    keep_denoised = 0,  # x0 estimates of the first trajectories to keep at every step
    progress = True,
):
    """One shard: dict of arrays for save_npz. log_posterior is [L, B, K + 1] float64 on the increasing
    levels `sigma` (the sampler's levels without the final 0); `denoised` [L, m, d] on the same levels."""
    generator = torch.Generator().manual_seed(int(seed))
    x_init = float(sigmas[0]) * torch.randn(len(labels), dim, generator=generator)
    hypotheses = list(range(num_classes)) + [UNCONDITIONAL]
    out = sampler.sample(denoiser, sigmas, labels, x_init, generator, guidance=guidance, hypotheses=hypotheses,
                         keep_denoised=keep_denoised, progress=progress)
    arrays = dict(sigma=np.asarray(sigmas[:-1])[::-1].copy(), hypotheses=np.asarray(hypotheses),
                  labels=labels.numpy(), x=out['x'].numpy(), calls=np.asarray(out['calls']),
                  log_posterior=out['log_posterior'].flip(0).numpy())
    if keep_denoised:
        arrays['denoised'] = out['denoised'].flip(0).numpy()
    return arrays

def merge_shards(paths):
    """The shards of one run concatenated along trajectories; the first shard's snapshots. Errors name the file."""
    keys = ['sigma', 'hypotheses', 'labels', 'x', 'log_posterior', 'calls']
    shards = [io.load_npz(p, keys=keys) for p in paths]
    first = shards[0]
    for path, shard in zip(paths, shards):
        for key in ('sigma', 'hypotheses'):
            if not np.array_equal(shard[key], first[key]):
                raise ValueError(f'{path}: {key} differs from the first shard {paths[0]}')
        B = len(shard['labels'])
        if shard['log_posterior'].shape != (len(first['sigma']), B, len(first['hypotheses'])) or len(shard['x']) != B:
            raise ValueError(f"{path}: log_posterior {shard['log_posterior'].shape} and x {shard['x'].shape} do not "
                             f"match {len(first['sigma'])} levels, {B} trajectories, {len(first['hypotheses'])} hypotheses")
        if not np.all(np.isfinite(shard['log_posterior'])) or not np.all(np.isfinite(shard['x'])):
            raise ValueError(f'{path}: NaN or inf in the tracked posterior or the samples')
    merged = dict(sigma=first['sigma'], hypotheses=first['hypotheses'],
                  calls=int(sum(int(s['calls']) for s in shards)))
    for key in ('labels', 'x'):
        merged[key] = np.concatenate([s[key] for s in shards])
    merged['log_posterior'] = np.concatenate([s['log_posterior'] for s in shards], axis=1)
    if 'denoised' in first:
        merged['denoised'] = first['denoised']
    return merged
