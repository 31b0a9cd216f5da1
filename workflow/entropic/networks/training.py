"""EDM training of a class-conditional denoiser with label dropout (one net: conditional and unconditional).

Per step (Karras et al. 2022, eq. 2 and Table 1):

    ln sigma ~ N(p_mean, p_std^2),   x = x0 + sigma n,   n ~ N(0, I),
    loss = lambda(sigma) |D(x; sigma, c) - x0|^2 / dim,   lambda(sigma) = (sigma^2 + sd^2) / (sigma sd)^2,

where the label c is replaced by the null label (-1) with probability `label_dropout`, so the same
network learns the unconditional denoiser used as the reference of classifier-free guidance.
Adam with a linear warm-up and a cosine decay of the learning rate; the returned network is an
exponential moving average (EMA) of the weights with a half-life measured in training samples
(EDM's ema_halflife_kimg), ramped up early in training so the average does not remember the
random initialisation.

Every random draw (minibatch, sigma, noise, label dropout) comes from one torch.Generator seeded
with `seed`: two runs from the same initial weights and seed give bit-identical weights on CPU at
the same thread count. The initial weights are the caller's (build the net under a fixed
torch.manual_seed). The thread count is the caller's as well.
"""

import copy
import math

import numpy as np
import torch
from tqdm.auto import tqdm

from entropic.theory.partitions import UNCONDITIONAL

#----------------------------------------------------------------------------

def learning_rate_at(step, steps, learning_rate, warmup):
    """Linear warm-up over `warmup` steps, then cosine decay to 0 at `steps`."""
    if step < warmup:
        return learning_rate * (step + 1) / warmup
    progress = (step - warmup) / max(steps - warmup, 1)
    return learning_rate * 0.5 * (1 + math.cos(math.pi * progress))

def ema_beta(step, batch_size, halflife, rampup):
    """Per-step EMA decay for a half-life of `halflife` samples, capped at rampup * samples seen (EDM)."""
    seen = (step + 1) * batch_size
    if rampup is not None:
        halflife = min(halflife, seen * rampup)
    return 0.5 ** (batch_size / max(halflife, 1e-8))

#----------------------------------------------------------------------------

def train_denoiser(
    net,                            # EDMPrecond (trained in place; its weights are the starting point)
    data,                           # [N, dim] float32 training points, in the data units of net.sigma_data
    labels,                         # [N] long class labels 0..K-1
    *,
    steps,                          # number of optimiser steps
    batch_size      = 256,          # samples per step
    learning_rate   = 2e-3,         # peak Adam learning rate
    warmup          = 100,          # linear warm-up, in steps
    label_dropout   = 0.15,         # probability of replacing a label by the null label (-1)
    p_mean          = -1.2,         # mean of ln sigma during training (EDM)
    p_std           = 1.2,          # standard deviation of ln sigma during training (EDM)
    ema_halflife    = 50_000,       # EMA half-life, in training samples
    ema_rampup      = 0.1,          # EMA half-life at most this fraction of the samples seen so far (None: off)
    seed            = 0,            # seed of every random draw of the run
    progress        = True,         # show a tqdm progress bar
):
    """Train `net`; returns (EMA copy of the net in eval mode, per-step losses [steps] float64 numpy)."""
    data = torch.as_tensor(data, dtype=torch.float32)
    labels = torch.as_tensor(labels, dtype=torch.long)
    if data.ndim != 2 or len(labels) != len(data):
        raise ValueError(f'need data [N, dim] and labels [N], got {tuple(data.shape)} and {tuple(labels.shape)}')
    device = next(net.parameters()).device
    data, labels = data.to(device), labels.to(device)
    generator = torch.Generator(device=device).manual_seed(int(seed))
    sd = net.sigma_data
    net.train()
    ema = copy.deepcopy(net).eval().requires_grad_(False)
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate, betas=(0.9, 0.99), eps=1e-8)
    losses = np.empty(steps, dtype=np.float64)

    bar = tqdm(range(steps), disable=not progress, desc='training', unit='step')
    for step in bar:
        index = torch.randint(len(data), (batch_size,), generator=generator, device=device)
        x0, y = data[index], labels[index]                                                   # [B, dim], [B]
        drop = torch.rand(batch_size, generator=generator, device=device) < label_dropout
        y = torch.where(drop, UNCONDITIONAL, y)
        sigma = (torch.randn(batch_size, generator=generator, device=device) * p_std + p_mean).exp()   # [B]
        noise = torch.randn(x0.shape, generator=generator, device=device)
        weight = (sigma ** 2 + sd ** 2) / (sigma * sd) ** 2                 # lambda(sigma), EDM Table 1
        denoised = net(x0 + sigma[:, None] * noise, sigma, y)
        loss = (weight * ((denoised - x0) ** 2).mean(1)).mean()

        for group in optimizer.param_groups:
            group['lr'] = learning_rate_at(step, steps, learning_rate, warmup)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

        beta = ema_beta(step, batch_size, ema_halflife, ema_rampup)
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), net.parameters()):
                p_ema.lerp_(p, 1 - beta)
            for b_ema, b in zip(ema.buffers(), net.buffers()):
                b_ema.copy_(b)
        losses[step] = loss.item()
        if step % 50 == 0 or step == steps - 1:
            bar.set_postfix(loss=f'{losses[max(step - 49, 0):step + 1].mean():.4f}')

    net.eval()
    return ema, losses
