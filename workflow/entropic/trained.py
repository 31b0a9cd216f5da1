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

def class_list(classes):
    """The classes in play as a list: range(K) for an int K, else the given indices."""
    return list(range(classes)) if isinstance(classes, (int, np.integer)) else [int(k) for k in classes]

def built_in_partitions(classes):
    """`classes` and the paper's binary form `<k>-vs-reference` for every class in play (an int K: all K)."""
    classes = class_list(classes)
    parts = {'classes': [[k] for k in classes]}
    parts.update({f'{k}-vs-reference': [[k], [UNCONDITIONAL]] for k in classes})
    return parts

def classes_in_play(partitions):
    """Sorted class indices that some partition names (the reference excluded)."""
    return sorted({k for cells in partitions.values() for cell in cells for k in cell if k != UNCONDITIONAL})

def partition_info(partitions, num_classes, top_eigenvalue=None):
    """partitions.json entries: cells and the speciation scale (Lambda, t_S, sigma_S) of the data each acts
    on; top_eigenvalue(classes in play) -> Lambda of those classes' data, or None where it is unknown
    (pretrained models: then the three are null)."""
    info = {}
    for name, cells in partitions.items():
        if top_eigenvalue is None:
            info[name] = dict(cells=cells, Lambda=None, t_S=None, sigma_S=None)
            continue
        top = float(top_eigenvalue(P.in_play(cells, num_classes)))
        info[name] = dict(cells=cells, Lambda=top, t_S=float(theory.speciation_time(top)),
                          sigma_S=float(theory.speciation_sigma(top)))
    return info

#----------------------------------------------------------------------------
# Trajectories.

def sampler_sigmas(settings, denoiser=None):
    """Decreasing EDM noise levels ending at 0: the paper's EDM grid, or for an SD1.5 denoiser its own DDPM
    timesteps as its scheduler config lays them out (it is defined only on them)."""
    from .models import sd15
    if isinstance(denoiser, sd15.SD15Denoiser):
        return denoiser.sampler_sigmas(settings['steps'])
    return noise.edm_sigma_grid(settings['steps'], settings['sigma_min'], settings['sigma_max'], settings['rho'],
                                append_zero=True)

def initial_std(backend, sigmas):
    """Standard deviation of the sampler's start in EDM coordinates: sigmas[0] (EDM's start), or for SD1.5
    sqrt(1 + sigma_max^2), diffusers' N(0, I) start in VP coordinates."""
    return float((1 + sigmas[0] ** 2) ** 0.5) if backend == 'sd15' else float(sigmas[0])

def trajectory_labels(classes, total):
    """Equal numbers of trajectories per class in play and for the unconditional model, interleaved
    (c_0, ..., c_{K-1}, UNCONDITIONAL, c_0, ...); `classes` an int K (all) or indices; [n (K + 1)] long."""
    conditions = class_list(classes) + [UNCONDITIONAL]
    per = total // len(conditions)
    if per < 1:
        raise ValueError(f'{total} trajectories cannot cover {len(conditions) - 1} classes and the unconditional model')
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
    device = 'cpu',     # where the sampler's state and its random draws live (a CUDA stream differs from the CPU's)
    init_std = None,    # standard deviation of the initial state; None: sigmas[0] (EDM's start)
):
    """One shard: dict of arrays for save_npz. log_posterior is [L, B, K + 1] float64 on the increasing
    levels `sigma` (the sampler's levels without the final 0); `denoised` [L, m, d] and `distances`
    [L, B, K + 1, K + 1] float32 on the same levels."""
    x_init, generator = sampler.initial_state(len(labels), shape, sigmas[0] if init_std is None else init_std,
                                              seed, device)
    labels = torch.as_tensor(labels, device=device)
    hypotheses = class_list(classes) + [UNCONDITIONAL]
    out = sampler.sample(denoiser, sigmas, labels, x_init, generator, guidance=guidance, hypotheses=hypotheses,
                         keep_denoised=keep_denoised, keep_distances=keep_distances, progress=progress)
    arrays = dict(sigma=np.asarray(sigmas[:-1])[::-1].copy(), hypotheses=np.asarray(hypotheses),
                  labels=labels.cpu().numpy(), x=out['x'].cpu().numpy(), calls=np.asarray(out['calls']),
                  log_posterior=out['log_posterior'].flip(0).cpu().numpy())
    if keep_denoised:
        arrays['denoised'] = out['denoised'].flip(0).cpu().numpy()
    if keep_distances:
        arrays['distances'] = out['distances'].flip(0).cpu().numpy()
    return arrays

def load_denoiser(backend, inputs, batch=64):
    """(denoiser, classes, sample shape, device) of a model: a trained checkpoint (digits, gmm: on the CPU,
    every class in play), the EDM2 pair `net`/`gnet`, or the SD1.5 pipeline with every prompt of the prompt
    file in play (both on the GPU when there is one, in float16 there)."""
    if backend == 'sd15':
        from pathlib import Path
        from .models import sd15
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
        prompts, _ = sd15.read_prompt_file(inputs.prompts)
        folder = Path(inputs.pipeline[0]).parent           # model_index.json is at the top of the pipeline folder
        denoiser, _ = sd15.load_denoiser(folder, prompts, device, torch.float16 if device == 'cuda' else torch.float32,
                                         max_batch=batch, source=inputs.prompts)
        config = denoiser.unet.config
        return denoiser, len(prompts), (config.in_channels, config.sample_size, config.sample_size), device
    if backend == 'edm2':
        from .models import edm2
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
        denoiser = edm2.EDM2Denoiser(edm2.load_network(inputs.net, device), edm2.load_network(inputs.gnet, device),
                                     max_batch=batch)
        return denoiser, None, denoiser.shape, device
    from . import networks
    net, meta = networks.load_checkpoint(inputs.checkpoint)
    return networks.NetworkDenoiser(net), meta['num_classes'], net.dim, 'cpu'

def load_decoder(backend, folder, device=None):
    """latents -> images in [0, 1], numpy [N, H, W, 3], of a pretrained backend: EDM2 latents through the SD
    VAE in `folder` with EDM2's scaling, SD1.5 latents through the pipeline's own VAE."""
    from .models import edm2, sd15
    vae = edm2.load_vae(folder, device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    if backend == 'sd15':
        return lambda latents: sd15.decode(vae, torch.as_tensor(latents))
    return lambda latents: edm2.decode(vae, latents)

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
