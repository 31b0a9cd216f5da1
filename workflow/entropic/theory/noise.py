"""Noise processes and the one coordinate system of the pipeline.

Every process is expressed in EDM / variance-exploding coordinates x = x0 + sigma * n
(docs/method.md eq. 1-2). A variance-preserving state x_t = alpha * x0 + s * n is the
same state as x_ve = x_t / alpha with sigma = s / alpha. The conversions below are exact.

Conventions (Handke et al. 2026, arXiv:2602.09651, §3; EDM, arXiv:2206.00364):
- VP (Ornstein-Uhlenbeck, Biroli et al.): x_t = e^{-t} x0 + sqrt(1 - e^{-2t}) n,
  so alpha = e^{-t}, sigma = sqrt(e^{2t} - 1), t = 1/2 log(1 + sigma^2).
- log-SNR: lambda = log(alpha^2 / s^2) = -2 log sigma (the data variance is not included).
- DDPM (Stable Diffusion 1.5): alpha_bar_t from the scaled-linear beta schedule, 1000 steps,
  sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t), VP t = -1/2 log alpha_bar_t.
- EDM (Karras et al. 2022, eq. 5): sigma_i = (smax^(1/rho) + i/(N-1) (smin^(1/rho) - smax^(1/rho)))^rho.
- Rectified flow (Stable Diffusion 3): x_t = (1 - t) x0 + t eps, so alpha = 1 - t, sigma = t / (1 - t),
  t = sigma / (1 + sigma); t = 1 (pure noise) is sigma = inf.
"""

import numpy as np

EDM_SIGMA_MIN = 0.002   # EDM2 sampler defaults (NVlabs/edm2 generate_images.py; EDM eq. 5)
EDM_SIGMA_MAX = 80.0
EDM_RHO = 7.0

#----------------------------------------------------------------------------
# Variance-preserving (Ornstein-Uhlenbeck) time <-> EDM sigma.

def vp_time_to_sigma(t):
    """sigma = sqrt(e^{2t} - 1): the VE noise level of the OU state at time t."""
    return np.sqrt(np.expm1(2 * np.asarray(t, dtype=np.float64)))

def sigma_to_vp_time(sigma):
    """t = 1/2 log(1 + sigma^2): the OU time whose state, rescaled by e^t, has noise level sigma."""
    return 0.5 * np.log1p(np.square(np.asarray(sigma, dtype=np.float64)))

def sigma_to_alpha(sigma):
    """VP signal scale alpha = 1 / sqrt(1 + sigma^2) (= e^{-t})."""
    return 1 / np.sqrt(1 + np.square(np.asarray(sigma, dtype=np.float64)))

def alpha_to_sigma(alpha):
    """EDM-equivalent sigma = sqrt(1 - alpha^2) / alpha of a VP state with signal scale alpha."""
    alpha = np.asarray(alpha, dtype=np.float64)
    return np.sqrt(1 - np.square(alpha)) / alpha

def sigma_to_log_snr(sigma):
    """lambda = log(alpha^2 / s^2) = -2 log sigma."""
    return -2 * np.log(np.asarray(sigma, dtype=np.float64))

def log_snr_to_sigma(log_snr):
    return np.exp(-0.5 * np.asarray(log_snr, dtype=np.float64))

def vp_rate_factor(sigma):
    """d sigma / d t along the OU process: multiply dH/dsigma by this to get dH/dt (= (1 + sigma^2) / sigma)."""
    sigma = np.asarray(sigma, dtype=np.float64)
    return (1 + np.square(sigma)) / sigma

#----------------------------------------------------------------------------
# Discrete DDPM schedule (Stable Diffusion 1.5, Rombach et al. 2022; diffusers' scheduler config).

BETA_SCHEDULES = ('scaled_linear', 'linear', 'squaredcos_cap_v2')

def ddpm_alphas_cumprod(
    num_train_timesteps = 1000,     # number of discrete training steps
    beta_start          = 0.00085,  # beta at t = 0 (not read by 'squaredcos_cap_v2')
    beta_end            = 0.012,    # beta at t = T - 1 (not read by 'squaredcos_cap_v2')
    beta_schedule       = 'scaled_linear',  # one of BETA_SCHEDULES, diffusers' names
):
    """alpha_bar_t = prod_{s <= t} (1 - beta_s) for t = 0 .. T-1; [T] float64. ValueError for another schedule.

    'scaled_linear' (SD1.x, SD2.x): beta = linspace(sqrt(beta_start), sqrt(beta_end), T)^2; 'linear' (Ho et al.
    2020, arXiv:2006.11239): beta = linspace(beta_start, beta_end, T); 'squaredcos_cap_v2' (Nichol & Dhariwal
    2021, arXiv:2102.09672, eq. 17): beta_t = min(1 - f((t + 1) / T) / f(t / T), 0.999), f(u) = cos((u + 0.008)
    / 1.008 * pi / 2)^2, as diffusers' betas_for_alpha_bar computes it.
    """
    if beta_schedule == 'scaled_linear':
        betas = np.linspace(beta_start ** 0.5, beta_end ** 0.5, num_train_timesteps, dtype=np.float64) ** 2
    elif beta_schedule == 'linear':
        betas = np.linspace(beta_start, beta_end, num_train_timesteps, dtype=np.float64)
    elif beta_schedule == 'squaredcos_cap_v2':
        f = lambda u: np.cos((u + 0.008) / 1.008 * np.pi / 2) ** 2
        u = np.arange(num_train_timesteps, dtype=np.float64) / num_train_timesteps
        betas = np.minimum(1 - f(u + 1 / num_train_timesteps) / f(u), 0.999)
    else:
        raise ValueError(f"beta_schedule must be one of {', '.join(map(repr, BETA_SCHEDULES))}, got {beta_schedule!r}")
    return np.cumprod(1 - betas)

def rescale_zero_terminal_snr(abar):
    """alpha_bar rescaled to zero terminal SNR (Lin et al. 2024, arXiv:2305.08891, Algorithm 1): sqrt(alpha_bar)
    shifted so that its last value is 0 and scaled so that its first is unchanged; [T] float64. The last
    timestep is then pure noise, sigma_{T-1} = inf in EDM coordinates (DDPMSchedule refuses to visit it)."""
    root = np.sqrt(np.asarray(abar, dtype=np.float64))
    root = (root - root[-1]) * root[0] / (root[0] - root[-1])
    return root ** 2

def ddpm_sigmas(**schedule):
    """EDM-equivalent sigma of every DDPM timestep; increasing in t; [T]."""
    return alpha_to_sigma(np.sqrt(ddpm_alphas_cumprod(**schedule)))

def ddpm_timestep_to_sigma(timestep, **schedule):
    """sigma at a (possibly fractional) DDPM timestep, interpolating log sigma between integer steps."""
    log_sigmas = np.log(ddpm_sigmas(**schedule))
    return np.exp(np.interp(timestep, np.arange(len(log_sigmas)), log_sigmas))

def sigma_to_ddpm_timestep(sigma, **schedule):
    """Inverse of ddpm_timestep_to_sigma: fractional timestep whose sigma is `sigma` (clipped to the schedule)."""
    log_sigmas = np.log(ddpm_sigmas(**schedule))
    return np.interp(np.log(sigma), log_sigmas, np.arange(len(log_sigmas)))

TIMESTEP_SPACINGS = ('leading', 'trailing', 'linspace')

def ddpm_timesteps(
    steps,                          # sampling steps: network evaluations per trajectory
    num_train_timesteps = 1000,     # T, the training schedule's number of timesteps
    timestep_spacing    = 'leading',  # 'leading', 'trailing' or 'linspace' (a scheduler config key)
    steps_offset        = 0,        # added to every timestep of the 'leading' grid (SD1.x: 1)
):
    """Decreasing integer timesteps in 0..T-1 that a DDPM/DDIM sampler with `steps` steps visits, as
    diffusers' DDIMScheduler and DDPMScheduler.set_timesteps lay them out; [steps] int64.

    The three spacings of Lin et al. 2024 ("Common Diffusion Noise Schedules and Sample Steps are Flawed",
    arXiv:2305.08891, Table 2), with r = T / steps:
        leading:  t_i = i * floor(r) + steps_offset                        (10 of 1000: 901, 801, ..., 1)
        trailing: t_i = round(T - i r) - 1                                 (10 of 1000: 999, 899, ..., 99)
        linspace: t_i = round(i (T - 1) / (steps - 1))                     (10 of 1000: 999, 888, ..., 0)
    computed in the same floating-point steps as diffusers, so that the grid is the same integer for integer.

    Raises ValueError for an unknown spacing, steps outside 1..T, and where diffusers' own grid is not one
    of `steps` distinct timesteps in 0..T-1 (leading: steps_offset pushes the top past T - 1; trailing: its
    float arange overshoots to timestep -1 at some step counts, e.g. 61 of 1000).
    """
    T, steps = int(num_train_timesteps), int(steps)
    if timestep_spacing not in TIMESTEP_SPACINGS:
        raise ValueError(f"timestep_spacing must be one of 'leading', 'trailing', 'linspace', got {timestep_spacing!r}")
    if not 1 <= steps <= T:
        raise ValueError(f'steps must be in 1..{T}, got {steps}')
    if timestep_spacing == 'leading':
        timesteps = (np.arange(steps) * (T // steps)).round()[::-1].astype(np.int64) + int(steps_offset)
    elif timestep_spacing == 'trailing':
        timesteps = np.round(np.arange(T, 0, -T / steps)).astype(np.int64) - 1
    else:
        timesteps = np.linspace(0, T - 1, steps).round()[::-1].astype(np.int64)
    if len(timesteps) != steps or timesteps.min() < 0 or timesteps.max() > T - 1 or np.any(np.diff(timesteps) >= 0):
        raise ValueError(f'timestep_spacing {timestep_spacing!r} (steps_offset {steps_offset}) with {steps} steps of '
                         f'{T}: diffusers visits the timesteps {timesteps[:3].tolist()} ... {timesteps[-3:].tolist()}, '
                         f'not {steps} distinct ones in 0..{T - 1}; choose another number of steps')
    return timesteps

#----------------------------------------------------------------------------
# EDM sigma grid (Karras et al. 2022, eq. 5).

def edm_sigma_grid(
    num_steps   = 64,               # number of noise levels (denoiser evaluations of a first-order sampler)
    sigma_min   = EDM_SIGMA_MIN,    # lowest noise level, in data units
    sigma_max   = EDM_SIGMA_MAX,    # highest noise level, in data units
    rho         = EDM_RHO,          # > 0; larger rho spends more steps at low noise
    append_zero = False,            # append sigma = 0 (the sampler's final, noise-free state)
):
    """Decreasing sigma levels sigma_0 = sigma_max > ... > sigma_{N-1} = sigma_min; [N] or [N+1]."""
    if not 0 < sigma_min < sigma_max:
        raise ValueError(f'need 0 < sigma_min < sigma_max, got sigma_min={sigma_min}, sigma_max={sigma_max}')
    if rho <= 0:
        raise ValueError(f'rho must be > 0, got {rho}')
    if num_steps < 2:
        raise ValueError(f'num_steps must be >= 2, got {num_steps}')
    i = np.arange(num_steps, dtype=np.float64)
    sigmas = (sigma_max ** (1 / rho) + i / (num_steps - 1) * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    sigmas[0], sigmas[-1] = sigma_max, sigma_min    # exact endpoints despite rounding
    return np.append(sigmas, 0.0) if append_zero else sigmas

def log_sigma_grid(num_levels, sigma_min, sigma_max):
    """Increasing, log-uniform noise levels: the grid of the exact curves; [num_levels]."""
    if not 0 < sigma_min < sigma_max:
        raise ValueError(f'need 0 < sigma_min < sigma_max, got sigma_min={sigma_min}, sigma_max={sigma_max}')
    return np.exp(np.linspace(np.log(sigma_min), np.log(sigma_max), num_levels))

#----------------------------------------------------------------------------
# Schedules: a model's noise process as the sampler sees it (entropic.backends.Model.schedule). Each gives
# the sampler's decreasing noise levels ending at 0, the standard deviation of its start, and the map
# between sigma and the network's own time variable.

class EDMSchedule:
    """A model trained on a continuum of sigma (EDM, Karras et al. 2022, arXiv:2206.00364): the eq. 5 grid of
    the `sampler` settings (steps, sigma_min, sigma_max, rho), a start N(0, sigma_max^2), time = sigma."""

    def sigmas(self, settings):
        return edm_sigma_grid(settings['steps'], settings['sigma_min'], settings['sigma_max'], settings['rho'],
                              append_zero=True)

    def init_std(self, sigmas):
        return float(sigmas[0])

    def timestep(self, sigma):
        return float(sigma)

    def sigma(self, timestep):
        return float(timestep)

class DDPMSchedule:
    """A discrete-time variance-preserving model (DDPM, Ho et al. 2020, arXiv:2006.11239) in EDM coordinates:
    sigma_t = sqrt((1 - abar_t) / abar_t) at its training timesteps t = 0..T-1, which the sampler visits
    with diffusers' timestep spacing; the start is the VP prior N(0, I), i.e. N(0, 1 + sigma_max^2) here.

    A schedule with zero terminal SNR (abar_{T-1} = 0, rescale_zero_terminal_snr) has sigma_{T-1} = inf: there
    the EDM state x_t / sqrt(abar) is not defined, so a grid that visits T-1 is refused (sigmas) and
    `timestep` covers the finite levels only."""

    def __init__(self,
        abar,                       # [T] alpha_bar of the training timesteps, decreasing; the last may be 0
        spacing      = 'leading',   # diffusers' timestep_spacing: 'leading', 'trailing' or 'linspace'
        steps_offset = 0,           # diffusers' steps_offset, added to 'leading' timesteps
    ):
        self.abar = np.asarray(abar, dtype=np.float64)
        self.spacing, self.steps_offset = spacing, int(steps_offset)
        with np.errstate(divide='ignore'):                                  # abar = 0: sigma = inf
            self.all_sigmas = np.sqrt((1 - self.abar) / self.abar)         # sigma_t, increasing in t
        self.log_sigmas = np.log(self.all_sigmas)
        self.finite = int(np.isfinite(self.all_sigmas).sum())              # levels 0..finite-1 are finite

    def timesteps(self, steps):
        """The decreasing integer timesteps of a `steps`-step run (ddpm_timesteps)."""
        return ddpm_timesteps(steps, len(self.abar), self.spacing, self.steps_offset)

    def sigmas(self, settings):
        """sigma at the run's timesteps (only `steps` of the settings applies), then 0: the last step goes
        to the x0 estimate. ValueError where the grid visits a timestep of infinite sigma (zero terminal SNR)."""
        timesteps = self.timesteps(settings['steps'])
        if timesteps.max() >= self.finite:
            raise ValueError(f"{settings['steps']} steps with timestep_spacing {self.spacing!r} visit timestep "
                             f'{timesteps.max()}, where alpha_bar = 0 (zero terminal SNR): its noise level in EDM '
                             'coordinates is infinite, where the sampler\'s state x_t / sqrt(alpha_bar) and its '
                             "tracking kernel are not defined; use timestep_spacing 'leading' with a grid that "
                             f'stays below timestep {self.finite}')
        return np.append(self.all_sigmas[timesteps], 0.0)

    def init_std(self, sigmas):
        return float(np.sqrt(1 + sigmas[0] ** 2))

    def timestep(self, sigma):
        """The fractional timestep whose sigma is `sigma` (log sigma linear between integer steps); ValueError
        outside [sigma(0), sigma(T-1)], beyond a relative 1e-6 for float32 rounding."""
        log_sigmas = self.log_sigmas[:self.finite]
        lo, hi = np.exp(log_sigmas[0]), np.exp(log_sigmas[-1])
        if not lo * (1 - 1e-6) <= sigma <= hi * (1 + 1e-6):
            raise ValueError(f'sigma = {sigma:.6g} lies outside the noise levels of the DDPM schedule, '
                             f'[sigma(0), sigma({self.finite - 1})] = [{lo:.6g}, {hi:.6g}]')
        log_sigma = min(max(np.log(sigma), log_sigmas[0]), log_sigmas[-1])
        return float(np.interp(log_sigma, log_sigmas, np.arange(self.finite, dtype=np.float64)))

    def sigma(self, timestep):
        return float(np.exp(np.interp(timestep, np.arange(len(self.abar)), self.log_sigmas)))

#----------------------------------------------------------------------------
# Rectified flow (flow matching; Stable Diffusion 3).

def flow_time_to_sigma(t):
    """sigma = t / (1 - t): the EDM noise level of the rectified-flow state at time t in [0, 1]; inf at t = 1.

    x_t = (1 - t) x0 + t eps divided by its signal scale 1 - t is x0 + t / (1 - t) eps (rectified flow, Esser
    et al. 2024, arXiv:2403.03206, section 3: the forward path a_t x0 + b_t eps with a_t = 1 - t, b_t = t)."""
    t = np.asarray(t, dtype=np.float64)
    with np.errstate(divide='ignore'):
        return t / (1 - t)

def sigma_to_flow_time(sigma):
    """t = sigma / (1 + sigma), the inverse of flow_time_to_sigma; 1 at sigma = inf."""
    sigma = np.asarray(sigma, dtype=np.float64)
    with np.errstate(invalid='ignore'):
        return np.where(np.isinf(sigma), 1.0, sigma / (1 + sigma))

def shift_flow_time(t, shift):
    """The timestep shift of Esser et al. 2024 (arXiv:2403.03206, section 5.3.2), t -> s t / (1 + (s - 1) t),
    as diffusers' FlowMatchEulerDiscreteScheduler applies its config's `shift`. In EDM coordinates it multiplies
    the noise level: sigma -> s sigma (the signal-to-noise ratio is divided by s^2)."""
    t = np.asarray(t, dtype=np.float64)
    return shift * t / (1 + (shift - 1) * t)

class FlowSchedule:
    """A rectified-flow (flow-matching) model in EDM coordinates: Stable Diffusion 3 (Esser et al. 2024,
    arXiv:2403.03206, section 3; Liu et al. 2022, arXiv:2209.03003).

    The path x_t = (1 - t) x0 + t eps, t in [0, 1], is the EDM process x = x_t / (1 - t) = x0 + sigma eps with
    sigma = t / (1 - t) (flow_time_to_sigma): the same state scaled by 1 / (1 - t) = 1 + sigma. The network
    time is num_train_timesteps * t. The sampling grid is the one diffusers' FlowMatchEulerDiscreteScheduler
    lays out for a static `shift` s, to the float32 value: t_i = shift(u_i), u linear from 1 to the shifted
    t of the first training timestep, shift(1 / T), shift(t) = s t / (1 + (s - 1) t) (shift_flow_time).

    Its first level is t = 1, pure noise, where sigma = inf: the sampler holds the state there standardised
    (entropic.method.sampler.sample), as the limit of x / sigma = x_t / t, i.e. x_1 = eps ~ N(0, I), the pipeline's own
    start: `init_std` is 1. (A grid that started below t = 1 would start from x_t ~ N(0, I), i.e.
    x ~ N(0, (1 + sigma)^2) in EDM coordinates.)
    """

    def __init__(self,
        shift               = 1.0,      # the scheduler config's `shift` (SD3: 3.0); > 0
        num_train_timesteps = 1000,     # T: the network time is T t
    ):
        if not shift > 0:
            raise ValueError(f'shift must be > 0, got {shift}')
        self.shift, self.num_train_timesteps = float(shift), int(num_train_timesteps)

    def flow_times(self, steps):
        """The decreasing flow times t of a `steps`-step run, 1 first, as diffusers' scheduler computes them (the
        smallest training t in float32 as its constructor does, the grid in float64, rounded to float32); [steps]
        float64 holding float32 values. ValueError where float32 rounding leaves fewer than `steps` distinct times."""
        steps, T, s = int(steps), self.num_train_timesteps, self.shift
        if steps < 1:
            raise ValueError(f'steps must be >= 1, got {steps}')
        one = np.float32(1) / np.float32(T)        # the scheduler's training grid in float32, at timestep 1
        lowest = float(np.float32(s) * one / (np.float32(1) + np.float32(s - 1) * one))
        u = np.linspace(1.0 * T, lowest * T, steps) / T
        t = shift_flow_time(u, s).astype(np.float32).astype(np.float64)
        if np.any(np.diff(t) >= 0):
            raise ValueError(f'{steps} steps with shift {s:g}: the float32 flow times are not {steps} distinct ones; '
                             'choose fewer steps')
        return t

    def sigmas(self, settings):
        """sigma = t / (1 - t) of the run's flow times (only `steps` of the settings applies), then 0: inf first."""
        return np.append(flow_time_to_sigma(self.flow_times(settings['steps'])), 0.0)

    def init_std(self, sigmas):
        """1 for a start at sigma = inf (the standardised state x_1 = eps); 1 + sigma for a finite start."""
        return 1.0 if np.isinf(sigmas[0]) else float(1 + sigmas[0])

    def timestep(self, sigma):
        """The network time T t, t = sigma / (1 + sigma); T at sigma = inf."""
        return float(self.num_train_timesteps * sigma_to_flow_time(sigma))

    def sigma(self, timestep):
        """The noise level of network time `timestep`: inf at T."""
        return float(flow_time_to_sigma(timestep / self.num_train_timesteps))

    def network_timestep(self, sigma):
        """The network time of noise level `sigma` as the pipeline hands it to the transformer: the flow time in
        float32 times T, multiplied in float32 (np.float32); at the grid's levels, diffusers' timesteps exactly."""
        return np.float32(sigma_to_flow_time(sigma)) * np.float32(self.num_train_timesteps)
