"""Trajectories of a model: the hypotheses in play, their trajectories sharded by seed, and the shards merged.

A model is a denoiser with K hypotheses (classes, prompts) and an unconditional branch (the null label or
the empty prompt). Every run of the sampler tracks all K + 1 at once (entropic.method.sampler.sample), so any
partition, and the paper's binary form `<k>-vs-reference` for every class, is read afterwards from the
same trajectories (entropic.method.posterior.tracked_curve). The trajectories of a run are split evenly over the K
hypotheses and the unconditional model, so that every binary form has the paper's prior 1/2 (Handke et al.
2026, arXiv:2602.09651, section 2.1) and the `classes` curve the uniform prior of the hypotheses.
"""

import numpy as np

from entropic.files import store
from entropic.theory import closed_forms
from entropic.theory import partitions as P
from entropic.theory.partitions import UNCONDITIONAL

# torch and the sampler are imported by the functions that sample: merging shards (the model_entropy job's)
# needs numpy alone, and importing torch costs a job about 1.4 s.

#----------------------------------------------------------------------------
# Data and partitions.

def class_list(classes):
    """The classes in play as a list: range(K) for an int K, else the given indices."""
    return list(range(classes)) if isinstance(classes, (int, np.integer)) else [int(k) for k in classes]

def partition_info(partitions, labels, top_eigenvalue=None):
    """partitions.json entries: cells and the speciation scale (Lambda, t_S, sigma_S) of the data each acts
    on; `labels` the hypotheses in play (the data of a partition with the reference is all of theirs);
    top_eigenvalue(labels of the data) -> Lambda of those classes' data, or None where it is unknown
    (pretrained models: then the three are null)."""
    info = {}
    for name, cells in partitions.items():
        top = None
        if top_eigenvalue is not None:
            members = list(labels) if P.has_reference(cells) else sorted(k for cell in cells for k in cell)
            top = top_eigenvalue(np.asarray(members))
        if top is None:
            info[name] = dict(cells=cells, Lambda=None, t_S=None, sigma_S=None)
            continue
        top = float(top)
        info[name] = dict(cells=cells, Lambda=top, t_S=float(closed_forms.speciation_time(top)),
                          sigma_S=float(closed_forms.speciation_sigma(top)))
    return info

#----------------------------------------------------------------------------
# Trajectories.

def trajectory_labels(classes, total):
    """Equal numbers of trajectories per class in play and for the unconditional model, interleaved
    (c_0, ..., c_{K-1}, UNCONDITIONAL, c_0, ...); `classes` an int K (all) or indices; [n (K + 1)] long."""
    conditions = class_list(classes) + [UNCONDITIONAL]
    per = total // len(conditions)
    if per < 1:
        raise ValueError(f'{total} trajectories cannot cover {len(conditions) - 1} classes and the unconditional model')
    import torch

    return torch.as_tensor(np.tile(conditions, per))

def shard_labels(labels, shards, shard):
    """Shard `shard` of `shards` takes every shards-th trajectory, so every shard has the same class mix."""
    if not 0 <= shard < shards or shards > len(labels):
        raise ValueError(f'shard {shard} of {shards} for {len(labels)} trajectories')
    return labels[shard::shards]

def sample_shard(
    denoiser,           # D(x, sigma, labels) with the classes and UNCONDITIONAL
    classes,            # the classes in play: an int K (0..K-1) or class indices; every one is tracked
    labels,             # [B] the condition of each trajectory
    shape,              # shape of one sample: an int (flat data) or a tuple (e.g. latents (4, 64, 64))
    sigmas,             # decreasing, ending at 0
    guidance,           # sampler.Guidance
    seed,               # seeds the initial noise and the step noise
    keep_denoised = 0,  # x0 estimates of the first trajectories to keep at every step
    keep_distances = False,  # keep |D_h - D_g|^2 between the hypotheses' x0 estimates (the combined readout)
    progress = True,
    device = 'cpu',     # where the sampler's state lives; its draws come from a CPU generator on any device
    init_std = None,    # standard deviation of the initial state; None: sigmas[0] (EDM's start)
):
    """One shard: dict of arrays for save_npz. log_posterior is [L, B, K + 1] float64 on the increasing
    levels `sigma` (the sampler's levels without the final 0, and without a start at sigma = inf, where the
    posterior is the prior: no level of a curve); `denoised` [L, m, d] and `distances` [L, B, K + 1, K + 1]
    float32 on the same levels."""
    import torch

    from entropic.method import sampler

    x_init, generator = sampler.initial_state(len(labels), shape, sigmas[0] if init_std is None else init_std,
                                              seed, device)
    labels = torch.as_tensor(labels, device=device)
    hypotheses = class_list(classes) + [UNCONDITIONAL]
    out = sampler.sample(denoiser, sigmas, labels, x_init, generator, guidance=guidance, hypotheses=hypotheses,
                         keep_denoised=keep_denoised, keep_distances=keep_distances, progress=progress)
    start = 1 if np.isinf(float(sigmas[0])) else 0     # levels kept: finite ones
    arrays = dict(sigma=np.asarray(sigmas[start:-1])[::-1].copy(), hypotheses=np.asarray(hypotheses),
                  labels=labels.cpu().numpy(), x=out['x'].cpu().numpy(), calls=np.asarray(out['calls']),
                  log_posterior=out['log_posterior'][start:].flip(0).cpu().numpy())
    if keep_denoised:
        arrays['denoised'] = out['denoised'][start:].flip(0).cpu().numpy()
    if keep_distances:
        arrays['distances'] = out['distances'][start:].flip(0).cpu().numpy()
    return arrays

def merge_shards(paths):
    """The shards of one run concatenated along trajectories; the first shard's snapshots. Errors name the file."""
    keys = ['sigma', 'hypotheses', 'labels', 'x', 'log_posterior', 'calls']
    shards = [store.load_npz(p, keys=keys) for p in paths]
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
    kept = [path for path, shard in zip(paths, shards) if 'distances' in shard]
    if kept:
        if len(kept) != len(paths):
            raise ValueError(f'{kept[0]}: only some shards of the run keep distances; rerun them all')
        H = len(first['hypotheses'])
        for path, shard in zip(paths, shards):
            if shard['distances'].shape != (len(first['sigma']), len(shard['labels']), H, H) or \
                    not np.all(np.isfinite(shard['distances'])):
                raise ValueError(f"{path}: distances {shard['distances'].shape} do not match the levels, "
                                 'trajectories and hypotheses, or are not finite')
        merged['distances'] = np.concatenate([s['distances'] for s in shards], axis=1)
    if 'denoised' in first:
        merged['denoised'] = first['denoised']
    return merged
