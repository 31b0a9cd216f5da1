"""EDM2 (Karras et al. 2024, "Analyzing and Improving the Training Dynamics of Diffusion Models"):
the network, its safe loader, the latent codec and the denoiser of the paper's ImageNet-512 runs.

The network is our own implementation of the paper's magnitude-preserving U-Net (config G, Figure 21)
and its preconditioning; module names follow the published pickles' state layout (NVlabs/edm2 training/networks_edm2.py) so
that their weights load strictly. NVlabs' pickles embed their source code and `exec` it on load; we
never do: `load_network` reads the pickle with an allowlist of plain data constructors (tensors,
arrays, dicts) and takes only the recorded constructor arguments and weights (see `read_pickle`).

Classifier-free guidance in EDM2 uses a separately trained unconditional network (the conditional nets
are trained without label dropout: NVlabs/edm2 train_edm2.py), so `EDM2Denoiser` routes UNCONDITIONAL rows to it.
"""

import io
import math
import pickle

import numpy as np
import torch

from entropic.files.store import NUMPY_PICKLE_GLOBALS, AllowlistUnpickler
from entropic.theory.partitions import UNCONDITIONAL

#----------------------------------------------------------------------------
# Magnitude-preserving primitives (EDM2 paper, Appendix B).

def normalize(x, dim=None, eps=1e-4):
    """x / (eps + |x| / sqrt(n)) over `dim` (all but the first by default): unit magnitude per element (Eq. 66)."""
    dim = list(range(1, x.ndim)) if dim is None else dim
    count = math.prod(x.shape[d] for d in ([dim] if isinstance(dim, int) else dim))
    norm = torch.linalg.vector_norm(x, dim=dim, keepdim=True, dtype=torch.float32)
    return x / (eps + norm / math.sqrt(count)).to(x.dtype)

def mp_silu(x):
    """SiLU scaled back to unit magnitude for unit-normal inputs (Eq. 81)."""
    return torch.nn.functional.silu(x) / 0.596

def mp_sum(a, b, t):
    """(1 - t) a + t b, rescaled to unit magnitude (Eq. 88)."""
    return a.lerp(b, t) / math.sqrt((1 - t) ** 2 + t ** 2)

def mp_cat(a, b, t):
    """Channel concatenation weighting a by (1 - t) and b by t at unit total magnitude (Eq. 103)."""
    na, nb = a.shape[1], b.shape[1]
    scale = math.sqrt((na + nb) / ((1 - t) ** 2 + t ** 2))
    return torch.cat([a * (scale * (1 - t) / math.sqrt(na)), b * (scale * t / math.sqrt(nb))], dim=1)

def resample(x, mode):
    """2x down (2x2 box average) or up (nearest): the [1, 1] filter of every EDM2 config."""
    if mode == 'down':
        return torch.nn.functional.avg_pool2d(x, 2)
    if mode == 'up':
        return x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    return x

#----------------------------------------------------------------------------
# Layers.

class FourierEmbedding(torch.nn.Module):
    """sqrt(2) cos(f c + phi) with fixed random f, phi (Eq. 75); the buffers come from the checkpoint."""

    def __init__(self, channels):
        super().__init__()
        self.register_buffer('freqs', torch.zeros(channels))
        self.register_buffer('phases', torch.zeros(channels))

    def forward(self, c):                               # c: [B] -> [B, channels]
        y = c.float()[:, None] * self.freqs.float()[None, :] + self.phases.float()[None, :]
        return (y.cos() * math.sqrt(2)).to(c.dtype)

class MPWeight(torch.nn.Module):
    """Bias-free linear (kernel []) or 2-D convolution (kernel [k, k]) whose weight is normalised to unit
    magnitude per output channel in every forward pass and scaled by gain / sqrt(fan_in) (Eqs. 47, 66)."""

    def __init__(self, in_channels, out_channels, kernel):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(out_channels, in_channels, *kernel))

    def forward(self, x, gain=1):
        w = normalize(self.weight.float()) * (gain / math.sqrt(self.weight[0].numel()))
        w = w.to(x.dtype)
        if w.ndim == 2:
            return x @ w.t()
        return torch.nn.functional.conv2d(x, w, padding=w.shape[-1] // 2)

class UNetBlock(torch.nn.Module):
    """Encoder or decoder block (Figure 21): resampling, a residual branch modulated by the embedding,
    optional self-attention with pixel-normalised q, k, v, and activation clipping."""

    def __init__(self,
        in_channels,                    # channels in
        out_channels,                   # channels out
        emb_channels,                   # channels of the noise/label embedding
        flavor          = 'enc',        # 'enc': skip projection and pixel norm before the branch; 'dec': after
        resample_mode   = 'keep',       # 'keep', 'down' or 'up'
        attention       = False,        # self-attention after the residual branch
        channels_per_head = 64,         # attention head size
        res_balance     = 0.3,          # weight of the residual branch in mp_sum
        attn_balance    = 0.3,          # weight of the attention branch in mp_sum
        clip_act        = 256,          # activations clipped to [-clip_act, clip_act]; None: no clipping
    ):
        super().__init__()
        self.flavor, self.resample_mode = flavor, resample_mode
        self.num_heads = out_channels // channels_per_head if attention else 0
        self.res_balance, self.attn_balance, self.clip_act = res_balance, attn_balance, clip_act
        self.emb_gain = torch.nn.Parameter(torch.zeros([]))
        self.conv_res0 = MPWeight(out_channels if flavor == 'enc' else in_channels, out_channels, [3, 3])
        self.emb_linear = MPWeight(emb_channels, out_channels, [])
        self.conv_res1 = MPWeight(out_channels, out_channels, [3, 3])
        self.conv_skip = MPWeight(in_channels, out_channels, [1, 1]) if in_channels != out_channels else None
        self.attn_qkv = MPWeight(out_channels, out_channels * 3, [1, 1]) if self.num_heads else None
        self.attn_proj = MPWeight(out_channels, out_channels, [1, 1]) if self.num_heads else None

    def forward(self, x, emb):                          # x: [B, C, H, W], emb: [B, emb_channels]
        x = resample(x, self.resample_mode)
        if self.flavor == 'enc':
            if self.conv_skip is not None:
                x = self.conv_skip(x)
            x = normalize(x, dim=1)                     # pixel norm
        y = self.conv_res0(mp_silu(x))
        scale = self.emb_linear(emb, gain=self.emb_gain) + 1
        y = self.conv_res1(mp_silu(y * scale[:, :, None, None].to(y.dtype)))
        if self.flavor == 'dec' and self.conv_skip is not None:
            x = self.conv_skip(x)
        x = mp_sum(x, y, self.res_balance)
        if self.num_heads:
            B, C, H, W = x.shape
            qkv = self.attn_qkv(x).reshape(B, self.num_heads, C // self.num_heads, 3, H * W)
            q, k, v = normalize(qkv, dim=2).unbind(3)                   # each [B, heads, c, HW]
            y = torch.nn.functional.scaled_dot_product_attention(      # softmax(q.k / sqrt(c)) v
                q.transpose(2, 3), k.transpose(2, 3), v.transpose(2, 3))
            x = mp_sum(x, self.attn_proj(y.transpose(2, 3).reshape(B, C, H, W)), self.attn_balance)
        if self.clip_act is not None:
            x = x.clamp(-self.clip_act, self.clip_act)
        return x

class UNet(torch.nn.Module):
    """F(x; c_noise, one-hot label): the EDM2 U-Net (config G)."""

    def __init__(self,
        img_resolution,                 # latent side (64 for ImageNet-512)
        img_channels,                   # latent channels (4)
        label_dim,                      # number of classes; 0 = unconditional
        model_channels  = 192,          # base channel count (XS: 128)
        channel_mult    = (1, 2, 3, 4), # per-resolution channel multipliers
        channel_mult_noise = None,      # noise-embedding multiplier (None: channel_mult[0])
        channel_mult_emb = None,        # embedding multiplier (None: max(channel_mult))
        num_blocks      = 3,            # blocks per resolution (encoder; decoder has one more)
        attn_resolutions = (16, 8),     # resolutions with self-attention
        label_balance   = 0.5,          # weight of the label embedding in mp_sum
        concat_balance  = 0.5,          # weight of the main path against the skip in mp_cat
        **block_kwargs,                 # UNetBlock arguments
    ):
        super().__init__()
        widths = [model_channels * m for m in channel_mult]
        noise_channels = model_channels * (channel_mult_noise or channel_mult[0])
        emb_channels = model_channels * (channel_mult_emb or max(channel_mult))
        self.label_balance, self.concat_balance = label_balance, concat_balance
        self.out_gain = torch.nn.Parameter(torch.zeros([]))
        self.emb_fourier = FourierEmbedding(noise_channels)
        self.emb_noise = MPWeight(noise_channels, emb_channels, [])
        self.emb_label = MPWeight(label_dim, emb_channels, []) if label_dim else None

        self.enc = torch.nn.ModuleDict()
        channels = img_channels + 1                     # + a constant-ones channel
        for level, width in enumerate(widths):
            res = img_resolution >> level
            if level == 0:
                self.enc[f'{res}x{res}_conv'] = MPWeight(channels, width, [3, 3])
                channels = width
            else:
                self.enc[f'{res}x{res}_down'] = UNetBlock(channels, channels, emb_channels, 'enc', 'down', **block_kwargs)
            for i in range(num_blocks):
                self.enc[f'{res}x{res}_block{i}'] = UNetBlock(channels, width, emb_channels, 'enc',
                                                              attention=res in attn_resolutions, **block_kwargs)
                channels = width

        self.dec = torch.nn.ModuleDict()
        skips = [channels_of(block) for block in self.enc.values()]
        for level, width in reversed(list(enumerate(widths))):
            res = img_resolution >> level
            if level == len(widths) - 1:
                self.dec[f'{res}x{res}_in0'] = UNetBlock(channels, channels, emb_channels, 'dec', attention=True, **block_kwargs)
                self.dec[f'{res}x{res}_in1'] = UNetBlock(channels, channels, emb_channels, 'dec', **block_kwargs)
            else:
                self.dec[f'{res}x{res}_up'] = UNetBlock(channels, channels, emb_channels, 'dec', 'up', **block_kwargs)
            for i in range(num_blocks + 1):
                self.dec[f'{res}x{res}_block{i}'] = UNetBlock(channels + skips.pop(), width, emb_channels, 'dec',
                                                              attention=res in attn_resolutions, **block_kwargs)
                channels = width
        self.out_conv = MPWeight(channels, img_channels, [3, 3])

    def forward(self, x, c_noise, one_hot):             # x: [B, C, R, R], c_noise: [B], one_hot: [B, label_dim] or None
        emb = self.emb_noise(self.emb_fourier(c_noise))
        if self.emb_label is not None:
            emb = mp_sum(emb, self.emb_label(one_hot * math.sqrt(one_hot.shape[1])), self.label_balance)
        emb = mp_silu(emb)
        x = torch.cat([x, torch.ones_like(x[:, :1])], dim=1)
        skips = []
        for name, block in self.enc.items():
            x = block(x) if name.endswith('_conv') else block(x, emb)
            skips.append(x)
        for name, block in self.dec.items():
            if '_block' in name:
                x = mp_cat(x, skips.pop(), self.concat_balance)
            x = block(x, emb)
        return self.out_conv(x, gain=self.out_gain)

def channels_of(layer):
    """Output channels of an encoder layer."""
    return (layer.conv_res1 if isinstance(layer, UNetBlock) else layer).weight.shape[0]

#----------------------------------------------------------------------------

class Precond(torch.nn.Module):
    """D(x; sigma, label) = c_skip x + c_out F(c_in x; c_noise, label), c_noise = ln(sigma) / 4 (EDM, Table 1),
    and the learned uncertainty u(sigma) of the EDM2 loss (Eq. 21).

    forward(x [B, C, R, R], sigma [B] or a scalar, one_hot [B, label_dim], return_logvar) -> D [B, C, R, R] float32
    (and u [B, 1, 1, 1]). Precision as NVlabs' Precond (NVlabs/edm2 training/networks_edm2.py): the U-Net's
    activations run in `unet_dtype` (float16 on CUDA with use_fp16), while c_noise, the labels and so the whole
    noise/label embedding stay float32 on both paths; the preconditioning is float32.

    A conditional network called without labels raises ValueError, where NVlabs' substitutes zero labels. The
    conditional nets are trained without label dropout, so a zero label is an input they never saw, not an
    unconditional model: EDM2's reference is its separately trained unconditional network (EDM2Denoiser)."""

    def __init__(self,
        img_resolution,                 # latent side
        img_channels,                   # latent channels
        label_dim,                      # number of classes; 0 = unconditional
        use_fp16        = True,         # run the U-Net in float16 on CUDA
        sigma_data      = 0.5,          # standard deviation of the data (the EDM2 latents are scaled to 0.5)
        logvar_channels = 128,          # Fourier features of the uncertainty head
        dropout         = 0,            # training only; accepted so that recorded arguments load
        **unet_kwargs,                  # UNet and UNetBlock arguments
    ):
        super().__init__()
        self.img_resolution, self.img_channels, self.label_dim = img_resolution, img_channels, label_dim
        self.use_fp16, self.sigma_data = use_fp16, sigma_data
        self.unet = UNet(img_resolution, img_channels, label_dim, **unet_kwargs)
        self.logvar_fourier = FourierEmbedding(logvar_channels)
        self.logvar_linear = MPWeight(logvar_channels, 1, [])

    def unet_dtype(self, device):
        """The dtype the U-Net's activations run in on `device`: float16 on CUDA when `use_fp16`, else float32."""
        return torch.float16 if self.use_fp16 and torch.device(device).type == 'cuda' else torch.float32

    def forward(self, x, sigma, one_hot=None, return_logvar=False):   # x: [B, C, R, R], sigma: [B], one_hot: [B, label_dim]
        x = x.float()
        sigma = torch.as_tensor(sigma, dtype=torch.float32, device=x.device).reshape(-1, 1, 1, 1)
        dtype = self.unet_dtype(x.device)
        sd = self.sigma_data
        c_skip = sd ** 2 / (sigma ** 2 + sd ** 2)
        c_out = sigma * sd / (sigma ** 2 + sd ** 2).sqrt()
        c_in = 1 / (sigma ** 2 + sd ** 2).sqrt()
        c_noise = sigma.flatten().log() / 4
        if self.label_dim:
            if one_hot is None:
                raise ValueError('a conditional EDM2 network needs one-hot class labels [B, label_dim]; its '
                                 'unconditional reference is the separate unconditional network (EDM2Denoiser), '
                                 'not a zero label')
            one_hot = one_hot.float().reshape(-1, self.label_dim)
        # Only the image goes to `dtype`: c_noise and the labels stay float32, so the embedding is computed in
        # float32 on either path and each block casts its modulation to the activations' dtype (NVlabs' policy).
        F = self.unet((c_in * x).to(dtype), c_noise.expand(x.shape[0]), one_hot)
        D = c_skip * x + c_out * F.float()
        if return_logvar:
            return D, self.logvar_linear(self.logvar_fourier(c_noise)).reshape(-1, 1, 1, 1)
        return D

#----------------------------------------------------------------------------
# Reading NVlabs pickles without running their code.

class PersistentRecord:
    """What a persistent object of an EDM2 pickle holds: its class name and recorded state. The embedded
    module source is kept as text and never executed."""

    def __init__(self, meta):
        if not isinstance(meta, dict) or meta.get('type') != 'class' or not isinstance(meta.get('state'), dict):
            raise pickle.UnpicklingError('malformed persistent-object record')
        self.class_name = str(meta.get('class_name'))
        self.state = meta['state']

class ModuleRecord:
    """The state of a plain torch container module (ModuleDict) inside the pickle."""

    def __setstate__(self, state):
        self.state = state

def _storage_from_bytes(data):
    """A tensor storage serialised by torch.save, read with weights_only (no code)."""
    return torch.load(io.BytesIO(data), map_location='cpu', weights_only=True)

_ALLOWED = {     # every global an EDM2 network pickle refers to, mapped to a plain data constructor
    ('torch_utils.persistence', '_reconstruct_persistent_obj'): PersistentRecord,
    ('dnnlib.util', 'EasyDict'): dict,
    ('collections', 'OrderedDict'): dict,
    ('torch.nn.modules.container', 'ModuleDict'): ModuleRecord,
    ('torch._utils', '_rebuild_tensor_v2'): torch._utils._rebuild_tensor_v2,
    ('torch._utils', '_rebuild_parameter'): torch._utils._rebuild_parameter,
    ('torch.storage', '_load_from_bytes'): _storage_from_bytes,
    **NUMPY_PICKLE_GLOBALS,
}

def read_pickle(path):
    """The top-level dict of an EDM2 pickle (`ema`, `encoder`, ...) with persistent objects as PersistentRecord;
    ValueError naming the file when it is unreadable or asks for anything outside the allowlist."""
    try:
        with open(path, 'rb') as f:
            data = AllowlistUnpickler(f, _ALLOWED, 'an EDM2 network pickle').load()
    except FileNotFoundError:
        raise FileNotFoundError(f'{path}: no such EDM2 pickle (the download rule fetches it)') from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, RuntimeError, IndexError) as err:
        raise ValueError(f'{path}: not a readable EDM2 network pickle ({type(err).__name__}: {err})') from None
    if not isinstance(data, dict) or not isinstance(data.get('ema'), PersistentRecord):
        raise ValueError(f'{path}: not an EDM2 network pickle (no `ema` network)')
    return data

def record_state_dict(record, prefix=''):
    """The state_dict of a module from its pickled record: its parameters and persistent buffers, recursively."""
    state = record.state
    out = {}
    non_persistent = state.get('_non_persistent_buffers_set') or set()
    for key in ('_parameters', '_buffers'):
        for name, value in (state.get(key) or {}).items():
            if value is not None and not (key == '_buffers' and name in non_persistent):
                out[prefix + name] = value
    for name, child in (state.get('_modules') or {}).items():
        if child is not None:
            out.update(record_state_dict(child, f'{prefix}{name}.'))
    return out

def load_network(path, device='cpu'):
    """Our Precond with the weights of an EDM2 pickle's `ema` network, loaded strictly (every key and shape),
    in float32 and eval mode; ValueError naming the file on any mismatch."""
    return network_from_record(read_pickle(path)['ema'], path).to(device)

def network_from_record(record, source):
    """Our Precond built from a pickled Precond record's constructor arguments, with its weights loaded strictly."""
    if record.class_name != 'Precond':
        raise ValueError(f'{source}: `ema` is a {record.class_name}, expected an EDM2 Precond')
    args, kwargs = record.state.get('_init_args') or (), dict(record.state.get('_init_kwargs') or {})
    try:
        net = Precond(*args, **kwargs)
        state = {k: torch.as_tensor(v).float() for k, v in record_state_dict(record).items()}
        net.load_state_dict(state, strict=True)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f'{source}: the network does not match our EDM2 Precond ({type(err).__name__}: {err})') from None
    return net.eval().requires_grad_(False)

#----------------------------------------------------------------------------
# Latent codec (NVlabs/edm2 training/encoders.py): the VAE of Stable Diffusion (stabilityai/sd-vae-ft-mse) with EDM2's own
# per-channel affine scaling to std 0.5 (not SD's 0.18215); pixels in [0, 1] on the VAE side.

RAW_MEAN = np.array([5.81, 3.25, 0.12, -2.15], dtype=np.float32)   # of the raw VAE latents (ImageNet-512)
RAW_STD = np.array([4.17, 4.62, 3.71, 3.28], dtype=np.float32)
LATENT_SCALE = np.float32(0.5) / RAW_STD                           # raw -> EDM2 latents: x * scale + bias
LATENT_BIAS = -RAW_MEAN * LATENT_SCALE

def latent_affine(path):
    """(scale, bias) of a pickle's encoder: the recorded ones, which must equal EDM2's published ones."""
    encoder = read_pickle(path).get('encoder')
    if not isinstance(encoder, PersistentRecord) or encoder.class_name != 'StabilityVAEEncoder':
        raise ValueError(f'{path}: its encoder is not the Stability VAE of the latent models')
    scale, bias = (np.asarray(encoder.state[k], dtype=np.float32) for k in ('scale', 'bias'))
    if not (np.allclose(scale, LATENT_SCALE, rtol=1e-6) and np.allclose(bias, LATENT_BIAS, rtol=1e-6, atol=1e-7)):
        raise ValueError(f'{path}: encoder scale {scale} / bias {bias} differ from the EDM2 latent scaling')
    return scale, bias

def decode(vae, latents, batch_size=8):
    """EDM2 latents [B, 4, R, R] -> images [B, 8R, 8R, 3] float32 in [0, 1] (EDM2 feeds the VAE pixels in [0, 1])."""
    scale = torch.as_tensor(LATENT_SCALE).reshape(1, -1, 1, 1)
    bias = torch.as_tensor(LATENT_BIAS).reshape(1, -1, 1, 1)
    param = next(vae.parameters())
    images = []
    with torch.no_grad():
        for batch in torch.as_tensor(latents, dtype=torch.float32).split(batch_size):
            raw = (batch - bias) / scale
            images.append(vae.decode(raw.to(param)).sample.float().clamp(0, 1).cpu())
    return torch.cat(images).permute(0, 2, 3, 1).numpy()

#----------------------------------------------------------------------------

class EDM2Denoiser:
    """The conditional EDM2 net for classes 0..K-1 and the separately trained unconditional net for
    UNCONDITIONAL, as a denoiser of entropic.method.denoisers (EDM2's classifier-free guidance, Karras et al. 2024, arXiv:2312.02696)."""

    def __init__(self,
        net,                            # conditional Precond (label_dim = K)
        gnet      = None,               # unconditional Precond (label_dim = 0); None: UNCONDITIONAL is refused
        max_batch = 64,                 # rows per network call (memory bound)
    ):
        if not net.label_dim:
            raise ValueError('the first EDM2 network must be conditional (label_dim > 0)')
        if gnet is not None and (gnet.label_dim or gnet.img_resolution != net.img_resolution
                                 or gnet.img_channels != net.img_channels):
            raise ValueError('the guiding EDM2 network must be unconditional with the latent shape of the conditional one')
        self.net, self.gnet, self.max_batch = net, gnet, int(max_batch)
        self.num_classes = net.label_dim
        self.shape = (net.img_channels, net.img_resolution, net.img_resolution)

    def _run(self, net, x, sigma, labels):
        one_hot = torch.nn.functional.one_hot(labels, net.label_dim) if net.label_dim else None
        sig = torch.full((len(x),), float(sigma), device=x.device)
        return torch.cat([net(x[i:i + self.max_batch], sig[i:i + self.max_batch],
                              None if one_hot is None else one_hot[i:i + self.max_batch])
                          for i in range(0, len(x), self.max_batch)])

    def __call__(self, x, sigma, labels):               # x: [B, C, R, R]
        device = next(self.net.parameters()).device
        labels = torch.as_tensor(labels, dtype=torch.long).to(device)
        xd = x.to(device=device, dtype=torch.float32)
        uncond = labels == UNCONDITIONAL
        if uncond.any() and self.gnet is None:
            raise ValueError('UNCONDITIONAL asked of an EDM2 denoiser without an unconditional network')
        out = torch.empty_like(xd)
        with torch.no_grad():
            if (~uncond).any():
                out[~uncond] = self._run(self.net, xd[~uncond], sigma, labels[~uncond])
            if uncond.any():
                out[uncond] = self._run(self.gnet, xd[uncond], sigma, labels[uncond])
        return out.to(device=x.device, dtype=x.dtype)

    def posterior_variance(self, sigma, labels, x=None):
        """Per-coordinate Var[x0 | x, label] from the learned uncertainty u(sigma), the same for every x: the EDM2 loss
        weight(sigma) e^-u |D - x0|^2 + u is minimal at e^u = weight(sigma) E|D - x0|^2 (Eq. 21),
        weight = (sigma^2 + sd^2) / (sigma sd)^2; so the denoiser's mean squared error is e^u / weight."""
        labels = torch.as_tensor(labels)
        out = torch.empty(labels.shape, dtype=torch.float64)
        sd = self.net.sigma_data
        for uncond, net in ((False, self.net), (True, self.gnet)):
            rows = (labels == UNCONDITIONAL) == uncond
            if rows.any():
                if net is None:
                    raise ValueError('UNCONDITIONAL asked of an EDM2 denoiser without an unconditional network')
                with torch.no_grad():
                    c_noise = torch.tensor([math.log(sigma) / 4], device=next(net.parameters()).device)
                    u = float(net.logvar_linear(net.logvar_fourier(c_noise)))
                out[rows] = math.exp(u) * (sigma * sd) ** 2 / (sigma ** 2 + sd ** 2)
        return out
