"""A small class-conditional denoiser network for flat data, its EDM preconditioning and checkpoints.

The body is a residual MLP: an input projection, `blocks` residual blocks of width `width`
(LayerNorm -> SiLU -> Linear -> SiLU -> Linear, added back), each shifted by an embedding of the
noise level (sinusoidal features of c_noise through a small MLP) plus a learned class embedding.
The class table has num_classes + 1 rows; the last row is the null label, so one network is both
the conditional and the unconditional denoiser (classifier-free guidance, Ho & Salimans 2022).

EDMPrecond wraps the body with the preconditioning of Karras et al. 2022 (Table 1):

    D(x; sigma, c) = c_skip x + c_out F(c_in x; c_noise, c),
    c_skip = sd^2 / (sigma^2 + sd^2),  c_out = sigma sd / sqrt(sigma^2 + sd^2),
    c_in = 1 / sqrt(sigma^2 + sd^2),   c_noise = ln(sigma) / 4.

NetworkDenoiser adapts a trained EDMPrecond to the project's denoiser interface (entropic.method.denoisers).
Checkpoints hold plain data only (constructor arguments, state_dict, metadata) and are read with
torch.load(weights_only=True), so reading one never executes code.
"""

import math
import pickle
from io import BytesIO
import zipfile

import numpy as np
import torch

from entropic.files import store
from entropic.theory.partitions import UNCONDITIONAL

CHECKPOINT_FORMAT = 'entropic.networks.EDMPrecond/1'    # tag of the checkpoint layout (a format name, kept when the module moved)

#----------------------------------------------------------------------------

def fourier_features(c_noise, frequencies):
    """[cos, sin](2 pi f c_noise) for every frequency f; c_noise [B], frequencies [C/2] -> [B, C]."""
    angles = 2 * math.pi * c_noise[:, None] * frequencies[None, :]
    return torch.cat([angles.cos(), angles.sin()], dim=1)

class ResidualBlock(torch.nn.Module):
    """h + Linear(SiLU(Linear(SiLU(LayerNorm(h) + shift)))), shift = self.emb(embedding): one residual block
    shifted by the embedding (the caller applies self.emb, so that it runs once per distinct embedding)."""

    def __init__(self, width):
        super().__init__()
        self.norm = torch.nn.LayerNorm(width)
        self.emb = torch.nn.Linear(width, width)        # per-block shift from the shared embedding
        self.fc1 = torch.nn.Linear(width, width)
        self.fc2 = torch.nn.Linear(width, width)

    def forward(self, h, shift):                        # h, shift: [B, width]
        y = torch.nn.functional.silu(self.norm(h) + shift)
        y = self.fc2(torch.nn.functional.silu(self.fc1(y)))
        return h + y

class ResidualMLP(torch.nn.Module):
    """F(x; c_noise, label) for flat data: the class-conditional body of the denoiser."""

    def __init__(self,
        dim,                        # data dimension (64 for the 8x8 digits)
        num_classes,                # number of classes; label `num_classes` is the null (unconditional) label
        width          = 256,       # hidden width of every block
        blocks         = 3,         # number of residual blocks
        noise_channels = 64,        # sinusoidal features of c_noise (half cosines, half sines)
        max_frequency  = 16.0,      # highest feature frequency, in cycles per unit of c_noise (c_noise spans ~2.7)
    ):
        super().__init__()
        self.num_classes = num_classes
        # Log-spaced frequencies 1/8 .. max_frequency: fixed, rebuilt from the arguments (not in the state_dict).
        frequencies = torch.logspace(math.log10(1 / 8), math.log10(max_frequency), noise_channels // 2)
        self.register_buffer('frequencies', frequencies, persistent=False)
        self.noise_mlp = torch.nn.Sequential(torch.nn.Linear(noise_channels, width), torch.nn.SiLU(),
                                             torch.nn.Linear(width, width))
        self.class_emb = torch.nn.Embedding(num_classes + 1, width)     # last row: the null label
        self.inp = torch.nn.Linear(dim, width)
        self.blocks = torch.nn.ModuleList(ResidualBlock(width) for _ in range(blocks))
        self.out_norm = torch.nn.LayerNorm(width)
        self.out = torch.nn.Linear(width, dim)
        torch.nn.init.zeros_(self.out.weight)           # start as F = 0, i.e. D = c_skip x
        torch.nn.init.zeros_(self.out.bias)

    def forward(self, x, c_noise, labels):              # x: [B, dim], c_noise: [B], labels: [B] in 0..num_classes
        # The embedding and every block's shift depend on (c_noise, label) alone. A sampler's batch (one sigma,
        # every trajectory under each of the K + 1 hypotheses) holds few distinct labels: the embedding is
        # computed once per label and gathered, 40% of the width-256 network's multiply-adds saved, the same
        # values (a row's result does not depend on the other rows). Training batches (a sigma per row) take
        # the direct path.
        shared = False
        if len(labels) > 1 and bool((c_noise == c_noise[0]).all()):
            distinct, inverse = torch.unique(labels, return_inverse=True)
            shared = 2 * len(distinct) <= len(labels)
            if shared:
                c_noise, labels = c_noise[:len(distinct)], distinct
        emb = self.noise_mlp(fourier_features(c_noise, self.frequencies)) + self.class_emb(labels)    # [B or labels, width]
        emb = torch.nn.functional.silu(emb)
        h = self.inp(x)
        for block in self.blocks:
            shift = block.emb(emb)
            h = block(h, shift[inverse] if shared else shift)
        return self.out(torch.nn.functional.silu(self.out_norm(h)))      # [B, dim]

#----------------------------------------------------------------------------

class EDMPrecond(torch.nn.Module):
    """D(x; sigma, label) with EDM preconditioning (Karras et al. 2022, Table 1) around a ResidualMLP."""

    def __init__(self,
        dim,                        # data dimension
        num_classes,                # number of classes (labels 0..num_classes-1; -1 = unconditional)
        sigma_data     = 0.5,       # standard deviation of the data, in data units (0.75 for the [-1, 1] digits)
        width          = 256,       # ResidualMLP hidden width
        blocks         = 3,         # ResidualMLP residual blocks
        noise_channels = 64,        # ResidualMLP sinusoidal noise features
        max_frequency  = 16.0,      # ResidualMLP highest noise-feature frequency
    ):
        super().__init__()
        self.init_kwargs = dict(dim=int(dim), num_classes=int(num_classes), sigma_data=float(sigma_data),
                                width=int(width), blocks=int(blocks), noise_channels=int(noise_channels),
                                max_frequency=float(max_frequency))    # plain data: what a checkpoint stores
        self.dim = int(dim)
        self.num_classes = int(num_classes)
        self.sigma_data = float(sigma_data)
        self.body = ResidualMLP(self.dim, self.num_classes, width=width, blocks=blocks,
                                noise_channels=noise_channels, max_frequency=max_frequency)

    def forward(self, x, sigma, labels):                # x: [B, dim]; sigma: [B] or float; labels: [B] long, -1 = null
        dtype = torch.promote_types(x.dtype, torch.float32)     # float32 inside; float64 inputs keep the skip exact
        x_in = x.to(dtype)
        sigma = torch.as_tensor(sigma, dtype=dtype, device=x.device).reshape(-1).expand(x.shape[0])[:, None]  # [B, 1]
        labels = torch.as_tensor(labels, dtype=torch.long, device=x.device)
        labels = torch.where(labels == UNCONDITIONAL, self.num_classes, labels)
        sd = self.sigma_data
        c_skip = sd ** 2 / (sigma ** 2 + sd ** 2)       # EDM preconditioning (Karras et al. 2022, Table 1)
        c_out = sigma * sd / (sigma ** 2 + sd ** 2).sqrt()
        c_in = 1 / (sigma ** 2 + sd ** 2).sqrt()
        c_noise = sigma[:, 0].log() / 4
        F = self.body((c_in * x_in).float(), c_noise.float(), labels)  # [B, dim], float32
        return (c_skip * x_in + c_out * F.to(dtype)).to(x.dtype)

#----------------------------------------------------------------------------

class NetworkDenoiser:
    """A trained EDMPrecond as a denoiser(x, sigma, labels) of entropic.method.denoisers: no gradients, eval mode."""

    def __init__(self,
        net,                        # EDMPrecond (switched to eval mode)
    ):
        self.net = net.eval()
        self.num_classes = net.num_classes

    def __call__(self, x, sigma, labels):               # x: [B, ...] any float dtype; sigma: float; labels: [B]
        param = next(self.net.parameters())
        dtype = torch.promote_types(x.dtype, torch.float32)    # the body runs in float32; float64 keeps its skip term
        flat = x.reshape(x.shape[0], -1).to(device=param.device, dtype=dtype)           # [B, dim]
        labels = torch.as_tensor(labels, dtype=torch.long, device=param.device)
        with torch.no_grad():
            self.net.eval()
            out = self.net(flat, float(sigma), labels)
        return out.reshape(x.shape).to(device=x.device, dtype=x.dtype)

#----------------------------------------------------------------------------

def save_checkpoint(path, net, meta):
    """Write {format, kwargs, state_dict, meta} atomically; `meta` must be plain data (dict/list/str/number)."""
    payload = dict(format=CHECKPOINT_FORMAT, kwargs=dict(net.init_kwargs),
                   state_dict={k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
                   meta=dict(meta))
    buffer = BytesIO()     # torch names the archive after the file: save to memory so that the bytes depend on the net only
    torch.save(payload, buffer)
    with store.atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())

def load_checkpoint(path):
    """(EDMPrecond in eval mode, meta) from a save_checkpoint file; ValueError naming the file if unreadable."""
    try:
        payload = torch.load(path, map_location='cpu', weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
        raise ValueError(f'{path}: cannot read checkpoint ({type(err).__name__}: {err})') from None
    if not isinstance(payload, dict) or payload.get('format') != CHECKPOINT_FORMAT:
        raise ValueError(f'{path}: not a {CHECKPOINT_FORMAT} checkpoint')
    kwargs, state, meta = payload.get('kwargs'), payload.get('state_dict'), payload.get('meta')
    if not isinstance(kwargs, dict) or not isinstance(state, dict) or not isinstance(meta, dict):
        raise ValueError(f'{path}: checkpoint lacks a kwargs, state_dict or meta dict')
    try:
        net = EDMPrecond(**kwargs)
        net.load_state_dict(state, strict=True)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f'{path}: checkpoint does not match EDMPrecond ({type(err).__name__}: {err})') from None
    return net.eval(), meta

def parameter_count(net):
    return int(np.sum([p.numel() for p in net.parameters()]))
