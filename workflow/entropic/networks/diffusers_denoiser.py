"""Any diffusers denoiser network as the denoiser D(x, sigma, labels) of entropic.method.denoisers, in EDM coordinates.

One class serves every architecture the diffusers backend reads (UNet2DModel, UNet2DConditionModel,
DiTTransformer2DModel, PixArtTransformer2DModel, SD3Transformer2DModel): what differs between them is only which
keyword inputs the network takes, a table of rows indexed by label (text_encoders.encode for prompts,
`class_table` for class labels), and how its output is read.

A variance-preserving (DDPM-trained) network saw x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps at timestep t. In EDM
coordinates x = x_t / sqrt(abar_t) = x0 + sigma_t eps with sigma_t = sqrt((1 - abar_t) / abar_t) (Karras et al. 2022,
arXiv:2206.00364, section 2), so the network gets x_t = x / sqrt(1 + sigma^2) at the (fractional) timestep of sigma
(noise.DDPMSchedule), and its output becomes the x0 estimate by `x0_estimate`. A rectified-flow network (Esser et
al. 2024, arXiv:2403.03206, section 3) saw x_t = (1 - t) x0 + t eps and predicts v = eps - x0: x = x_t / (1 - t) with
sigma = t / (1 - t) (noise.FlowSchedule), the network gets x_t = x / (1 + sigma) at time T t, and x0 = x_t - t v.
At sigma = inf (t = 1, pure noise) the sampler holds the state standardised, x_1 = eps, as the pipelines start.

A DDPM network whose output has twice the input channels learned its reverse-step variance as ADM does (Nichol &
Dhariwal 2021, arXiv:2102.09672; DiT, PixArt): the first half is read as above, the second as Var[x0 | x]
(LearnedVariance), which the sampler's exact tracking kernel uses (entropic.method.sampler, kernel='exact').

Classifier-free guidance is the sampler's D_u + w (D_c - D_u) on x0 estimates, which equals the pipelines' guidance
of epsilon, v or velocity (x0 is affine in each at fixed x and sigma).

diffusers is imported only where a network is loaded, so this module imports without it.
"""

import math

import numpy as np
import torch

from entropic.theory import noise
from entropic.theory.partitions import UNCONDITIONAL
from entropic.networks.diffusers_folder import PREDICTION_TYPES     # diffusers' names of a DDPM network's parametrisations

#----------------------------------------------------------------------------
# Reading the network's output.


def x0_estimate(x, sigma, out, prediction_type):
    """The x0 estimate in EDM coordinates from a VP network's output `out` at the state x = x_t / sqrt(abar) of noise
    level sigma; x, out [B, ...]. With alpha = sqrt(abar) = 1 / sqrt(1 + sigma^2) and s = sqrt(1 - abar) = sigma alpha,
    so that x_t = alpha x0 + s eps:

    - 'epsilon' (Ho et al. 2020, arXiv:2006.11239, eq. 15): x0 = (x_t - s eps) / alpha = x - sigma eps;
    - 'v_prediction' (Salimans & Ho 2022, arXiv:2202.00512, section 4 and appendix D), v = alpha eps - s x0:
      x0 = alpha x_t - s v = x / (1 + sigma^2) - sigma / sqrt(1 + sigma^2) v, which is EDM's preconditioning
      c_skip x + c_out F with sigma_data = 1 (Karras et al. 2022, arXiv:2206.00364, Table 1);
    - 'sample': the network predicts x0 itself.
    ValueError for another prediction type.
    """
    if prediction_type == 'epsilon':
        return x - sigma * out
    if prediction_type == 'v_prediction':
        return x / (1 + sigma ** 2) - (sigma / math.sqrt(1 + sigma ** 2)) * out
    if prediction_type == 'sample':
        return out
    raise ValueError(f'prediction_type must be one of {", ".join(map(repr, PREDICTION_TYPES))}, got {prediction_type!r}')

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
# Conditioning: a table of network inputs, one row per hypothesis and the reference last.

def label_rows(labels, num_labels, count):
    """The row of a conditioning table (labels 0..K-1, then the reference) for each of `count` labels: k for label k,
    K for UNCONDITIONAL; [count] long. ValueError for another number of labels or a label outside 0..K-1, -1."""
    labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
    if len(labels) != count:
        raise ValueError(f'{len(labels)} labels for {count} rows')
    if ((labels < UNCONDITIONAL) | (labels >= num_labels)).any():
        raise ValueError(f'labels must be 0..{num_labels - 1} or {UNCONDITIONAL} (the reference), '
                         f'got {labels.unique().tolist()}')
    return torch.where(labels == UNCONDITIONAL, num_labels, labels)

def class_table(num_classes, null_label):
    """The conditioning table of a class-conditional network: class_labels 0..K-1, then its null label (the
    embedding learned under label dropout, the unconditional branch of classifier-free guidance)."""
    return {'class_labels': torch.cat([torch.arange(num_classes), torch.tensor([int(null_label)])])}

def _network_inputs(table, rows):
    """The keyword inputs of a network call for `rows` of a conditioning table ('a.b' keys nest as {a: {b: ...}})."""
    kwargs = {}
    for key, value in table.items():
        *outer, name = key.split('.')
        target = kwargs
        for part in outer:
            target = target.setdefault(part, {})
        target[name] = value[rows]
    return kwargs

#----------------------------------------------------------------------------
# The denoiser.

class DiffusersDenoiser:
    """D(x, sigma, labels) of entropic.method.denoisers for a diffusers network and a conditioning table; with a learned
    variance also `posterior_variance`. Labels index the table's rows (0..K-1), UNCONDITIONAL its last row."""

    def __init__(self,
        network,                    # a diffusers model; runs in its weights' dtype and device
        table,                      # {keyword: [K + 1, ...] tensor} of network inputs by label, the reference last
        schedule,                   # noise.DDPMSchedule or noise.FlowSchedule: its grid, sigma <-> network time
        prediction_type = 'epsilon',    # a DDPM network's output: one of PREDICTION_TYPES; a flow network's is v
        learned_variance = False,   # whether the output's second half of channels is ADM's learned variance
        max_batch = 32,             # most rows per network call, to bound memory
    ):
        self.network = network
        self.schedule = schedule
        self.flow = isinstance(schedule, noise.FlowSchedule)
        if not self.flow and prediction_type not in PREDICTION_TYPES:
            raise ValueError(f'prediction_type must be one of {", ".join(map(repr, PREDICTION_TYPES))}, '
                             f'got {prediction_type!r}')
        self.prediction_type = prediction_type
        self.num_classes = len(next(iter(table.values()))) - 1
        self.table = {key: torch.as_tensor(value).to(network.device, network.dtype if value.is_floating_point()
                                                      else value.dtype) for key, value in table.items()}
        self.max_batch = int(max_batch)
        self.variance = LearnedVariance(schedule.abar) if learned_variance else None

    @torch.no_grad()
    def output(self, x, sigma, labels):
        """(x_t, the network's raw output [B, C_out, ...]) in x's device and dtype at the noise level sigma of the EDM
        state x, every label in one call, at most max_batch rows at a time."""
        rows = label_rows(labels, self.num_classes, len(x)).to(self.network.device)
        if self.flow:
            if not sigma > 0:
                raise ValueError(f'sigma = {sigma:.6g}: the flow-matching denoiser needs sigma > 0')
            x_t = x if math.isinf(sigma) else x / (1 + sigma)   # at sigma = inf the sampler holds x_t = eps itself
            timestep = torch.tensor(self.schedule.network_timestep(sigma))      # float32, as the pipeline's
        else:
            x_t = x / math.sqrt(1 + sigma ** 2)     # = sqrt(abar_t) x: the VP state the network saw in training
            timestep = torch.tensor(self.schedule.timestep(float(sigma)), dtype=torch.float32)
        out = None
        for start in range(0, len(x), self.max_batch):
            chunk = slice(start, start + self.max_batch)
            sample = x_t[chunk].to(self.network.device, self.network.dtype)
            result = self.network(sample, timestep=timestep.expand(len(sample)).to(sample.device),
                                  **_network_inputs(self.table, rows[chunk])).sample
            if out is None:
                out = torch.empty(len(x), *result.shape[1:], dtype=x.dtype, device=x.device)
            out[chunk] = result.to(x.device, x.dtype)
        return x_t, out

    def __call__(self, x, sigma, labels):
        x_t, out = self.output(x, sigma, labels)
        if self.variance is not None:
            out = out[:, :x.shape[1]]
        if self.flow:
            return x_t - float(noise.sigma_to_flow_time(sigma)) * out     # x0 = x_t - t v, v = eps - x0
        return x0_estimate(x, sigma, out, self.prediction_type)

    def posterior_variance(self, sigma, labels, x):
        """Var[x0 | x, label] per coordinate from the variance channels (LearnedVariance): [B, C, H, W] float64.
        One network call per row; sigma must be the noise level of a training timestep (every level of the sampler's
        grid is), else ValueError. AttributeError-free only for a network with a learned variance."""
        if self.variance is None:
            raise ValueError('this network has no learned variance (its output has as many channels as its input)')
        _, out = self.output(x, sigma, labels)
        return self.variance(out[:, x.shape[1]:], self.schedule.timestep(float(sigma)))
