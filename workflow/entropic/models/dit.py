"""DiT as a denoiser in EDM coordinates, with its learned variance as the posterior variance of x0.

DiT-XL/2 (Peebles & Xie 2023, "Scalable Diffusion Models with Transformers", arXiv:2212.09748) is a
class-conditional transformer on the latents of the Stable Diffusion VAE (scaled by 0.18215), trained as ADM
(Nichol & Dhariwal 2021, "Improved Denoising Diffusion Probabilistic Models", arXiv:2102.09672): a
variance-preserving epsilon-prediction model on the DDPM linear beta schedule (beta from 1e-4 to 0.02 over
T = 1000 steps), whose output has twice the latent channels. The first half is epsilon; the second half
interpolates the log variance of each reverse step (the learned sigma of ADM's hybrid loss). In EDM coordinates

    x = x_t / sqrt(abar_t) = x0 + sigma_t eps,      sigma_t = sqrt((1 - abar_t) / abar_t),
    D(x; sigma) = x - sigma eps(x_t, t)             (the DDPM x0 estimate, Ho et al. 2020 eq. 15),

and the variance half reads as the per-coordinate Var[x0 | x] (LearnedVariance), which the sampler's exact
tracking kernel uses (entropic.sampler, kernel='exact'). Label k in 0..999 is ImageNet class k; the label
after the last class (1000, the embedding DiT learned under 10% label dropout) is the unconditional branch,
which UNCONDITIONAL (-1) picks. Classifier-free guidance as diffusers' DiTPipeline applies it, to the epsilon
of every latent channel, is the sampler's D_u + w (D_c - D_u) (x0 is affine in epsilon at fixed x).

diffusers is imported only where a pipeline is loaded, so this module imports without it.
"""

import json
import math
import pathlib

import numpy as np
import torch

from .. import imagenet, noise
from ..partitions import UNCONDITIONAL
from . import sd15

#----------------------------------------------------------------------------
# The learned variance (Nichol & Dhariwal 2021, section 3.1, eq. 15) as Var[x0 | x].

class LearnedVariance:
    """Var[x0 | x] per coordinate from the raw variance output of a DDPM network that learns its reverse-step
    variance as ADM does, at the training timesteps of its schedule.

    The network's raw output v interpolates the log variance of the reverse step t -> t-1 (eq. 15),

        log Sigma_t = f log beta_t + (1 - f) log beta~_t,      f = (v + 1) / 2,

    between beta_t and the DDPM posterior variance beta~_t = beta_t (1 - abar_{t-1}) / (1 - abar_t). It is
    trained by L_vlb, the KL divergence from q(x_{t-1} | x_t, x0) = N(c0_t x0 + c1_t x_t, beta~_t) with
    c0_t = sqrt(abar_{t-1}) beta_t / (1 - abar_t). For a diagonal Gaussian reverse kernel with the network's
    mean, the expected KL is smallest where the variance matches the second moment about that mean of the true
    reverse kernel q(x_{t-1} | x_t), coordinate by coordinate (moment matching; Bao et al. 2022, "Analytic-DPM",
    arXiv:2201.06503, derive the same optimum for one variance per step):

        Sigma*_t = beta~_t + c0_t^2 E[(x0 - x0_hat)^2 | x_t] = beta~_t + c0_t^2 Var[x0 | x_t]

    when x0_hat is the posterior mean. Hence Var[x0 | x_t] = (Sigma_t - beta~_t) / c0_t^2, which is also
    Var[x0 | x] in EDM coordinates (x0 is not rescaled), and equals

        (1 - abar_t) (r^(1-f) - r) / (1 - r),      r = beta~_t / beta_t,

    from 0 at f = 0 to 1 - abar_t = sigma^2 / (1 + sigma^2) at f = 1, the posterior variance of unit-variance
    Gaussian data. An output below f = 0 (Sigma below beta~, which no kernel with that mean can have) reads as
    0; above f = 1 it extrapolates as the network does. At t = 0, where beta~_0 = 0, ADM clips the lower end of
    the interpolation to beta~_1 and c0_0 = 1: there Var = Sigma_0. The ends are those of one training step,
    as the network was trained, whatever steps a sampler takes (ADM's respaced samplers reuse f between the ends
    of their longer steps instead); Var[x0 | x] does not depend on the step.
    """

    def __init__(self,
        abar,                       # [T] alpha_bar of the training timesteps, t = 0..T-1
    ):
        abar = np.asarray(abar, dtype=np.float64)
        abar_prev = np.append(1.0, abar[:-1])
        self.betas = 1 - abar / abar_prev                                         # beta_t
        self.posterior = self.betas * (1 - abar_prev) / (1 - abar)                # beta~_t, 0 at t = 0
        self.log_lower = np.log(np.append(self.posterior[1], self.posterior[1:]))  # ADM's clipped log beta~_t
        self.log_upper = np.log(self.betas)
        self.weight = np.sqrt(abar_prev) * self.betas / (1 - abar)                # c0_t

    def __call__(self,
        raw,                        # [B, ...] the network's variance channels at timestep t
        timestep,                   # t, an integer training timestep
    ):
        """Var[x0 | x] [B, ...] float64, >= 0. ValueError for a timestep that is not an integer in 0..T-1: the
        interpolation's ends are those of one training step."""
        t = round(float(timestep))
        if abs(float(timestep) - t) > 1e-6 or not 0 <= t < len(self.betas):
            raise ValueError(f'the learned variance is defined at the training timesteps 0..{len(self.betas) - 1}, '
                             f'not at timestep {float(timestep):.6g}')
        frac = (torch.as_tensor(raw).double() + 1) / 2
        log_variance = frac * self.log_upper[t] + (1 - frac) * self.log_lower[t]
        return ((torch.exp(log_variance) - self.posterior[t]) / self.weight[t] ** 2).clamp(min=0)

#----------------------------------------------------------------------------
# The denoiser.

class DiTDenoiser:
    """D(x, sigma, labels) of entropic.denoisers for a class-conditional DiT with learned variance; labels are
    class indices, UNCONDITIONAL the null label. `posterior_variance` gives its learned Var[x0 | x, label]."""

    def __init__(self,
        transformer,                # diffusers DiTTransformer2DModel; runs in its weights' dtype and device
        schedule,                   # noise.DDPMSchedule of its training timesteps and sampling grid (read_schedule)
        max_batch = 32,             # most rows per transformer call, to bound memory
    ):
        config = transformer.config
        self.transformer = transformer
        self.num_classes = int(config.num_embeds_ada_norm)  # classes 0..K-1; label K is the null label
        self.channels = int(config.in_channels)
        if config.out_channels != 2 * self.channels:
            raise ValueError(f'the DiT transformer has {config.out_channels} output channels for {self.channels} input '
                             'channels; the backend reads epsilon and a learned variance (twice the input channels)')
        self.shape = (self.channels, int(config.sample_size), int(config.sample_size))
        self.max_batch = int(max_batch)
        self.schedule = schedule
        self.variance = LearnedVariance(schedule.abar)

    @torch.no_grad()
    def network(self, x, sigma, labels):
        """(eps, raw variance), each [B, C, H, W] in x's device and dtype, at the noise level sigma of the EDM state x."""
        labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
        if len(labels) != len(x):
            raise ValueError(f'{len(labels)} labels for {len(x)} rows')
        if ((labels < UNCONDITIONAL) | (labels >= self.num_classes)).any():
            raise ValueError(f'labels must be classes 0..{self.num_classes - 1} or {UNCONDITIONAL} (the null label), '
                             f'got {labels.unique().tolist()}')
        device, dtype = self.transformer.device, self.transformer.dtype
        rows = torch.where(labels == UNCONDITIONAL, self.num_classes, labels).to(device)
        t = self.schedule.timestep(float(sigma))
        x_t = x / math.sqrt(1 + sigma ** 2)     # = sqrt(abar_t) x: the VP state the network saw in training
        out = torch.empty(len(x), 2 * self.channels, *x.shape[2:], dtype=x.dtype, device=x.device)
        for start in range(0, len(x), self.max_batch):      # every label in one call, max_batch rows at a time
            chunk = slice(start, start + self.max_batch)
            sample = x_t[chunk].to(device, dtype)
            timestep = torch.full((len(sample),), t, dtype=torch.float32, device=device)
            out[chunk] = self.transformer(sample, timestep=timestep, class_labels=rows[chunk]).sample.to(x.device, x.dtype)
        return out[:, :self.channels], out[:, self.channels:]

    def __call__(self, x, sigma, labels):
        eps, _ = self.network(x, sigma, labels)
        return x - sigma * eps      # (x_t - sqrt(1 - abar) eps) / sqrt(abar) in EDM coordinates

    def posterior_variance(self, sigma, labels, x):
        """Var[x0 | x, label] per coordinate from the variance channels (LearnedVariance): [B, C, H, W] float64.
        One transformer call per row; sigma must be the noise level of a training timestep (every level of the
        sampler's grid is), else ValueError."""
        _, raw = self.network(x, sigma, labels)
        return self.variance(raw, self.schedule.timestep(float(sigma)))

#----------------------------------------------------------------------------
# A local diffusers folder of a DiT pipeline (facebook/DiT-XL-2-256, -512), without its VAE.

FILES = [                   # model_index.json first: it marks the folder
    'model_index.json',
    'scheduler/scheduler_config.json',
    'transformer/config.json',
    'transformer/diffusion_pytorch_model.bin',
]
LATENT_SCALE = sd15.LATENT_SCALE    # DiT was trained on SD VAE latents times 0.18215 (its train.py)

# What the backend honours of the scheduler config (sd15.scheduler_config fills in DDIMScheduler's defaults):
# linear or scaled-linear betas from beta_start and beta_end, epsilon prediction, the unclipped and
# unthresholded x0 estimate (the posterior mean the method reads), any of diffusers' timestep spacings.
SCHEDULER_SUPPORTED = {**sd15.SCHEDULER_SUPPORTED, 'beta_schedule': ('linear', 'scaled_linear')}

def _missing(path):
    return FileNotFoundError(f'{path}: not found; run the download rule for the DiT model (facebook/DiT-XL-2-256 '
                             'or -512) to fetch it into this folder')

def read_schedule(folder):
    """The noise schedule and sampling grid of the folder's scheduler config (noise.DDPMSchedule), with
    DDIMScheduler's defaults for absent keys; ValueError naming a key the backend cannot honour."""
    path = pathlib.Path(folder) / 'scheduler' / 'scheduler_config.json'
    if not path.is_file():
        raise _missing(path)
    config = sd15.scheduler_config(folder, SCHEDULER_SUPPORTED, 'DiT')
    abar = noise.ddpm_alphas_cumprod(config['num_train_timesteps'], config['beta_start'], config['beta_end'],
                                     config['beta_schedule'])
    return noise.DDPMSchedule(abar, config['timestep_spacing'], config['steps_offset'])

def check_id2label(path):
    """The pipeline's class names (model_index.json, `id2label`) must be the ImageNet classes in our order
    (entropic.imagenet): keys 0..999, and each entry's comma-separated names include our short name of that
    class. ValueError naming the file and the first class that differs: its labels would be other classes."""
    try:
        id2label = json.loads(pathlib.Path(path).read_text()).get('id2label')
    except (OSError, ValueError) as err:
        raise ValueError(f'{path}: cannot read the pipeline index ({err})') from None
    names = imagenet.class_names()
    if not isinstance(id2label, dict) or set(id2label) != {str(k) for k in range(len(names))}:
        raise ValueError(f'{path}: id2label must name the {len(names)} ImageNet classes 0..{len(names) - 1}')
    for k, name in enumerate(names):
        given = [part.strip().lower() for part in str(id2label[str(k)]).split(',')]
        if name.lower() not in given:
            raise ValueError(f'{path}: id2label[{k}] is {id2label[str(k)]!r}, which does not name ImageNet class {k} '
                             f'({imagenet.class_wnids()[k]}, {name!r}); the pipeline numbers the classes in another order')

def load_transformer(folder, device='cuda', dtype=torch.float16):
    """diffusers' DiTTransformer2DModel from `folder`/transformer (the hub's weights are a .bin state dict,
    read by torch.load with weights_only=True), on `device`, in eval mode; FileNotFoundError naming the download."""
    import diffusers
    folder = pathlib.Path(folder) / 'transformer'
    if not (folder / 'config.json').is_file():
        raise _missing(folder / 'config.json')
    try:
        transformer = diffusers.DiTTransformer2DModel.from_pretrained(folder, torch_dtype=dtype, local_files_only=True)
    except OSError as err:      # diffusers reports missing weights as OSError
        raise _missing(folder / 'diffusion_pytorch_model.bin') from err
    return transformer.to(device).eval().requires_grad_(False)

def load_denoiser(
    folder,                     # local DiT pipeline folder (FILES)
    device    = 'cuda',
    dtype     = torch.float16,
    max_batch = 32,
):
    """DiTDenoiser of the pipeline in `folder`: its transformer, the schedule and sampling grid of its scheduler
    config; the pipeline's class names checked to be the ImageNet order (check_id2label). ValueError where the
    network is not the ImageNet DiT with learned variance."""
    folder = pathlib.Path(folder)
    if not (folder / 'model_index.json').is_file():
        raise _missing(folder / 'model_index.json')
    check_id2label(folder / 'model_index.json')
    schedule = read_schedule(folder)
    transformer = load_transformer(folder, device, dtype)
    if transformer.config.num_embeds_ada_norm != imagenet.NUM_CLASSES:
        raise ValueError(f'{folder}/transformer: {transformer.config.num_embeds_ada_norm} classes; the DiT backend reads '
                         f'ImageNet class indices (0..{imagenet.NUM_CLASSES - 1})')
    return DiTDenoiser(transformer, schedule, max_batch=max_batch)

def load_decoder(folder, device='cpu'):
    """latents [B, C, H, W] (DiT's, scaled by 0.18215) -> images float32 numpy [B, 8H, 8W, 3] in [0, 1], as
    DiTPipeline decodes them; ValueError if the VAE's scaling factor is not the one DiT was trained with."""
    from . import diffusers_folder
    vae = diffusers_folder.load_vae(folder, device)
    if not math.isclose(vae.config.scaling_factor, LATENT_SCALE, rel_tol=1e-9):
        raise ValueError(f'{folder}: the VAE scales latents by {vae.config.scaling_factor}; DiT was trained on SD VAE '
                         f'latents scaled by {LATENT_SCALE}')
    return lambda latents: sd15.decode(vae, torch.as_tensor(latents))
