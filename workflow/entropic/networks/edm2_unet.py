"""EDM2's network (Karras et al. 2024, "Analyzing and Improving the Training Dynamics of Diffusion Models",
arXiv:2312.02696): the magnitude-preserving U-Net of the paper's ImageNet-512 runs and its preconditioning.

The network is our own implementation of the paper's magnitude-preserving U-Net (config G, Figure 21)
and its preconditioning; module names follow the published pickles' state layout (NVlabs/edm2
training/networks_edm2.py) so that their weights load strictly (entropic.networks.edm2_pickle reads them).
Precision as NVlabs': the U-Net's activations in float16 on CUDA, the embedding and the preconditioning in
float32 (Precond).
"""

import math

import torch

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
    unconditional model: EDM2's reference is its separately trained unconditional network
    (entropic.networks.edm2_denoiser)."""

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
