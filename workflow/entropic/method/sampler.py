"""Stochastic DDIM / ancestral sampler on the EDM grid, with guidance and online posterior tracking.

One step from sigma to sigma' < sigma (docs/method.md eq. 7, the FBG code's stochastic sampler, arXiv:2506.06085):

    mu(x, c) = (sigma'^2 / sigma^2) x + (1 - sigma'^2 / sigma^2) D(x; sigma, c),
    s^2      = (sigma^2 - sigma'^2) sigma'^2 / sigma^2,
    x'       = mu(x, guided) + s eps          (eps = 0 on the last step, sigma' = 0).

A grid may start at sigma = inf, pure noise (flow matching's t = 1, entropic.theory.noise.FlowSchedule): the state
there is held standardised, as the limit of x / sigma (a denoiser reads it so), and the first step is the
limit of the one above, mu = D(x; inf, c) and s^2 = sigma'^2: a fresh draw around the x0 estimate. The
tracked posterior there is the prior.

Guidance (Ho & Salimans 2022): D_guided = D_u + w (D_c - D_u), with w applied only while sigma lies
in a given interval (Kynkäänniemi et al. 2024); w = 1 is plain conditional sampling.

Tracking (docs/method.md eq. 6; `tracker_step`, which `sample` applies after every step to sigma' > 0): Z -> X_sigma
-> X_sigma' is a Markov chain, so for every hypothesis h in play

    log p(h | x') = log p(h | x) + log N(x'; mu(x, h), v_h I) - log p(x' | x),

accumulated in log space and renormalised over the hypotheses. The paper's kernel variance is the
sampler's, v_h = s^2. For a class whose posterior p(x0 | x, h) is Gaussian (a mixture component) the
exact reverse kernel has v_h = s^2 + c^2 Var[x0 | x, h], c = 1 - sigma'^2 / sigma^2: `kernel='exact'`. The
denoiser's posterior_variance gives Var[x0 | x, h] as one value per row or one per coordinate (a diagonal
Gaussian kernel, log N summed over coordinates), entropic.method.denoisers.

sample_ode is the deterministic alternative: EDM's Heun (Karras et al. 2022, arXiv:2206.00364, Algorithm 1,
no churn) or Euler on the probability-flow ODE, on any finite grid (entropic.method.schedules), with the same
guidance and no tracking; it counts function evaluations as the schedule literature does (Heun: 2N - 1).
"""

import dataclasses
import math

import numpy as np
import torch
from tqdm.auto import tqdm

from entropic.method.denoisers import UNCONDITIONAL

#----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Guidance:
    """Where and how strongly the sampler guides; a config entry's guidance is built by runs.Run.guidance."""
    scale:    float = 1.0       # w; 1 means no guidance
    sigma_lo: float = 0.0       # guidance acts for sigma_lo < sigma <= sigma_hi (limited interval)
    sigma_hi: float = math.inf
    profile:  tuple = ()        # ((log sigma, ...), (weight in [0, 1], ...)): w(sigma) = 1 + (w - 1) weight(sigma)

    def describe(self):
        """Where guidance acts, for tables: 'nowhere', 'every sigma', the interval or the weight profile."""
        if self.scale == 1:
            return 'nowhere'
        if self.profile:
            return 'weighted by dH/dlog σ'
        if self.sigma_lo == 0 and self.sigma_hi == math.inf:
            return 'every σ'
        return f'σ ∈ ({self.sigma_lo:g}, {self.sigma_hi:g}]'

    def scale_at(self, sigma):
        if not self.sigma_lo < sigma <= self.sigma_hi:
            return 1.0
        if self.profile:    # linear in log sigma between the profile's levels, no guidance outside them
            weight = float(np.interp(math.log(sigma), *self.profile, left=0.0, right=0.0))
            return 1.0 + (self.scale - 1.0) * weight
        return self.scale

def normal(generator, shape, dtype=torch.float32, device='cpu'):
    """Standard normal draws [*shape] of `dtype` from `generator`, drawn on the generator's own device and then
    copied to `device`: every random draw of sampling goes through here.

    With a CPU generator (initial_state's) the numbers depend only on the seed and the draws before, never
    on the device the sampler runs on: PyTorch's CPU and CUDA generators give different streams for one seed,
    and CUDA's may differ between GPU models (PyTorch, "Reproducibility"; diffusers#1514). One draw per step,
    copied once, as a CUDA draw would be made once."""
    return torch.randn(shape, generator=generator, dtype=dtype, device=generator.device).to(device)

def initial_state(count, shape, std, seed, device='cpu'):
    """(x_init [count, *shape] ~ N(0, std^2 I) on `device`, the CPU generator that drew it and that then draws the
    step noise); `shape` an int (flat data) or a tuple. The same seed gives the same noise, whatever is sampled
    with it and on whichever device (see `normal`); the generator lives on the CPU even for a CUDA device."""
    generator = torch.Generator().manual_seed(int(seed))
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return float(std) * normal(generator, (count, *shape), device=device), generator

def step_variance(sigma, sigma_next):
    """s^2 = (sigma^2 - sigma_next^2) sigma_next^2 / sigma^2, the ancestral kernel's variance (elementwise);
    from a scalar sigma = inf its limit, sigma_next^2."""
    if np.ndim(sigma) == 0 and np.isinf(sigma):
        return sigma_next ** 2
    return (sigma ** 2 - sigma_next ** 2) * sigma_next ** 2 / sigma ** 2

def step_moments(x, denoised, sigma, sigma_next):
    """Mean and variance s^2 of the ancestral kernel from sigma to sigma_next (from sigma = inf: the x0 estimate)."""
    ratio = sigma_next ** 2 / sigma ** 2
    return ratio * x + (1 - ratio) * denoised, step_variance(sigma, sigma_next)

def _condition_name(label):
    return 'the unconditional reference (-1)' if label == UNCONDITIONAL else f'hypothesis {label}'

def _check_finite(values, conditions, sigma, step, steps, what='the denoiser'):
    """Raise FloatingPointError naming sigma, the step and the conditions whose rows of `values` [R, ...] are
    not all finite; `conditions` [R] labels the rows (a label, or a name such as 'the guided estimate').

    A finite sum (one reduction pass, no boolean copy) proves every value finite, since a NaN or an inf in any
    term makes the sum NaN or inf; only a sum that is not finite (a bad value, or finite values overflowing
    the accumulator) pays for the elementwise check that names the rows. Half-precision values are summed in
    float32, where a batch of them cannot overflow (65504 per value, float32's range is 3e38)."""
    if torch.isfinite(values.sum(dtype=torch.promote_types(values.dtype, torch.float32))):
        return
    bad = ~torch.isfinite(values.reshape(len(values), -1)).all(-1)
    if bad.any():
        named = dict.fromkeys(_condition_name(c) if not isinstance(c, str) else c
                              for c, b in zip(conditions, bad.tolist()) if b)
        raise FloatingPointError(f'{what} returned NaN or inf at sigma = {sigma:.6g} (step {step} of {steps}) '
                                 f'for {", ".join(named)}')

#----------------------------------------------------------------------------

def tracker_step(
    log_posterior,              # [B, H] float64: log p(h | x) at sigma, normalised over the H hypotheses
    residual,                   # [B, ...]: r = x' - mu(x, guided), the step's noise (s eps, or the exact kernel's draw)
    denoised_guided,            # [B, ...]: D_g, the x0 estimate the step was drawn with
    denoised,                   # [H, B, ...]: D(x; sigma, h), every hypothesis's x0 estimate at the same states
    shrink,                     # c = 1 - sigma'^2 / sigma^2 (1 from sigma = inf), the weight of D in mu
    variance,                   # s^2 = step_variance(sigma, sigma'), the sampler's kernel variance (data units^2)
    posterior_variance = None,  # None: the paper's kernel, v_h = s^2; else Var[x0 | x, h], [H, B] or [H, B, ...]
):
    """The tracker's update, the paper's estimator: log p(h | x') [B, H] float64 from log p(h | x) after one
    sampler step x -> x' from sigma to sigma' (Handke et al. 2026, arXiv:2602.09651, App. B; docs/method.md eq. 6):

        log p(h | x') = log p(h | x) + log N(x'; mu_h, v_h I) - log sum_g p(g | x) N(x'; mu_g, v_g I),

    mu_h = (sigma'^2 / sigma^2) x + c D(x; sigma, h) (docs/method.md eq. 7), in nats, for every trajectory b
    and hypothesis h at once; the last term is the renormalisation over the hypotheses (a log-softmax).

    The kernel variance v_h is the sampler's s^2 for every hypothesis (`posterior_variance` None: the paper's
    kernel; its normalising constant cancels) or the exact reverse kernel's s^2 + c^2 Var[x0 | x, h] for a class
    whose posterior p(x0 | x, h) is Gaussian: one variance per row ([H, B], an isotropic kernel) or one per
    coordinate ([H, B, ...] with the states' shape, a diagonal kernel, log N summed over coordinates).

    x' - mu_h is formed as r + c (D_g - D_h), whose terms are both small, never as a difference of the large x'
    and mu_h: elementwise in at least float32 (the states' dtype if wider), the squares summed in float64."""
    H, B = denoised.shape[0], residual.shape[0]
    dim = int(np.prod(residual.shape[1:]))
    diff = torch.sub(residual + shrink * denoised_guided, denoised, alpha=shrink).reshape(H, B, dim)  # r + c (D_g - D_h)
    sq_dist = diff.to(torch.promote_types(diff.dtype, torch.float32)).square().sum(-1, dtype=torch.float64)
    if posterior_variance is not None:
        posterior_variance = posterior_variance.to(sq_dist)
        if posterior_variance.dim() == 2:       # one variance per row: an isotropic kernel
            kernel_var = variance + shrink ** 2 * posterior_variance
            log_lik = -sq_dist / (2 * kernel_var) - 0.5 * dim * torch.log(kernel_var)
        else:                                   # per coordinate: a diagonal kernel
            kernel_var = variance + shrink ** 2 * posterior_variance.reshape(H, B, dim)
            log_lik = -(diff.to(sq_dist).square() / (2 * kernel_var)).sum(-1) - 0.5 * torch.log(kernel_var).sum(-1)
    else:   # one variance for every hypothesis: its normalising constant cancels in the softmax
        log_lik = -sq_dist / (2 * variance)
    return torch.log_softmax(log_posterior + log_lik.T, dim=-1)

#----------------------------------------------------------------------------

def sample(
    denoiser,                   # D(x, sigma, labels), see entropic.method.denoisers
    sigmas,                     # [N+1] decreasing noise levels ending at 0 (noise.edm_sigma_grid(..., append_zero=True)),
                                # or above 0: the state there, to continue or branch from (entropic.studies.cloning)
    labels,                     # [B] long: the condition each trajectory is drawn from (UNCONDITIONAL allowed)
    x_init,                     # [B, ...] states at sigmas[0]
    generator,                  # torch.Generator of the step noise (a CPU one: the same draws on every device)
    guidance    = Guidance(),   # classifier-free guidance with the unconditional model as reference
    hypotheses  = None,         # conditions to track (class indices and/or UNCONDITIONAL); None: no tracking
    log_prior   = None,         # [H] or [B, H] log p(h | x_init); uniform over the hypotheses if None
    kernel      = 'sampler',    # tracking kernel variance: 'sampler' (the paper) or 'exact' (+ c^2 Var[x0 | x, h])
    sampler_variance = 'sampler',  # the same choice for the sampling step itself ('exact': from the true class)
    keep_denoised = 0,          # keep the guided x0 estimates of the first this many trajectories at every step
    keep_distances = False,     # keep |D_h - D_g|^2 between the tracked hypotheses' x0 estimates at every step
    progress    = False,        # show a progress bar over steps
):
    """Run the sampler; returns dict(x=[B, ...] samples (the states at sigmas[-1]), log_posterior=[N, B, H] float64 history at
    sigmas[0..N-1] or None, denoised=[N, keep_denoised, ...] x0 estimates at sigmas[0..N-1] or None,
    distances=[N, B, H, H] float32 squared distances between the hypotheses' x0 estimates at sigmas[0..N-1]
    (for the control variates of entropic.method.posterior.posterior_martingales) or None,
    calls=denoiser evaluations (rows)).

    Raises FloatingPointError at the first step where any branch it evaluated (a tracked hypothesis, the
    trajectories' own conditions, the unconditional reference, the guided estimate, a posterior variance)
    is NaN or inf, naming sigma, the step and the hypotheses: the one check every backend goes through.
    """
    sigmas = [float(s) for s in sigmas]
    if sigmas[-1] < 0 or any(a <= b for a, b in zip(sigmas, sigmas[1:])):
        raise ValueError('sigmas must be strictly decreasing and end at 0 or above')
    for name, value in (('kernel', kernel), ('sampler_variance', sampler_variance)):
        if value not in ('sampler', 'exact'):
            raise ValueError(f"{name} must be 'sampler' or 'exact', got {value!r}")
    labels = torch.as_tensor(labels, dtype=torch.long, device=x_init.device)
    B, dim = x_init.shape[0], int(np.prod(x_init.shape[1:]))
    x = x_init
    calls = 0
    tracking = hypotheses is not None
    if tracking:
        hypotheses = torch.as_tensor(hypotheses, dtype=torch.long, device=x.device)
        H = len(hypotheses)
        position = {int(h): i for i, h in enumerate(hypotheses)}
        label_list = labels.tolist()
        own_in_hypotheses = all(l in position for l in label_list)
        own_index = torch.tensor([position.get(l, 0) for l in label_list], device=x.device)
        log_post = torch.full((B, H), -math.log(H), dtype=torch.float64, device=x.device) if log_prior is None else \
            torch.log_softmax(torch.as_tensor(log_prior, dtype=torch.float64, device=x.device).expand(B, H), -1)
        history = [log_post]
        hypothesis_rows = hypotheses.repeat_interleave(B)                              # [H B]
    trajectory = torch.arange(B, device=x.device)
    branch_rows = torch.cat([labels, torch.full_like(labels, UNCONDITIONAL)])          # [2 B]: own, then reference
    denoised, distances = [], []
    if keep_distances and not tracking:
        raise ValueError('keep_distances needs tracked hypotheses')

    steps = len(sigmas) - 1
    for i in tqdm(range(steps), disable=not progress, desc='sampling', unit='step'):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        w = guidance.scale_at(sigma)
        # Denoiser evaluations: every tracked hypothesis, then whatever the sampler needs beyond them.
        if tracking:   # every hypothesis in one batch, the branches a guided sampler evaluates anyway
            states = torch.cat([x] * H)                                                        # [H B, ...]
            D_h = denoiser(states, sigma, hypothesis_rows).reshape(H, *x.shape)                # [H, B, ...]
            calls += H * B
            _check_finite(D_h, hypotheses.tolist(), sigma, i, steps)
            if keep_distances:      # by differences, not from inner products: no cancellation as D_h -> D_g
                flat = D_h.reshape(H, B, dim)
                distances.append(torch.stack([(flat[h] - flat).square().sum(-1, dtype=torch.float64).T
                                              for h in range(H)], 1).float())                 # [B, H, H]
        D_own = D_h[own_index, trajectory] if tracking and own_in_hypotheses else None
        D_u = D_h[position[UNCONDITIONAL]] if tracking and UNCONDITIONAL in position else None
        if w != 1 and D_own is None and D_u is None:   # both branches of guidance in one batch
            both = denoiser(torch.cat([x, x]), sigma, branch_rows)
            D_own, D_u = both[:B], both[B:]
            calls += 2 * B
            _check_finite(both, branch_rows.tolist(), sigma, i, steps)
        if D_own is None:
            D_own = denoiser(x, sigma, labels)
            calls += B
            _check_finite(D_own, labels.tolist(), sigma, i, steps)
        if w != 1 and D_u is None:
            D_u = denoiser(x, sigma, torch.full_like(labels, UNCONDITIONAL))
            calls += B
            _check_finite(D_u, [UNCONDITIONAL] * B, sigma, i, steps)
        D_g = D_own if w == 1 else D_u + w * (D_own - D_u)
        _check_finite(D_g, [f'the guided estimate (w = {w:g})'] * B, sigma, i, steps)
        if keep_denoised:
            denoised.append(D_g[:keep_denoised].clone())
        mean_g, var = step_moments(x, D_g, sigma, sigma_next)
        if sigma_next == 0:
            x = mean_g
            break
        shrink = 1 - sigma_next ** 2 / sigma ** 2                                    # c
        step_var = torch.full((B,), var, dtype=torch.float64, device=x.device)
        if sampler_variance == 'exact':    # [B], or [B, ...] per coordinate
            posterior_var = denoiser.posterior_variance(sigma, labels, x).to(step_var)
            _check_finite(posterior_var, labels.tolist(), sigma, i, steps, 'the posterior variance')
            step_var = step_var.view(B, *[1] * (posterior_var.dim() - 1)) + shrink ** 2 * posterior_var
        eps = normal(generator, x.shape, x.dtype, x.device)
        step_std = step_var.sqrt().to(x.dtype)
        residual = (step_std.view(B, *[1] * (x.dim() - 1)) if step_std.dim() == 1 else step_std) * eps   # x' - mu_guided
        x = mean_g + residual
        if tracking:
            posterior_var = None
            if kernel == 'exact':
                posterior_var = denoiser.posterior_variance(sigma, hypothesis_rows, states).to(
                    device=x.device, dtype=torch.float64)
                _check_finite(posterior_var, hypothesis_rows.tolist(), sigma, i, steps, 'the posterior variance')
                posterior_var = posterior_var.reshape(H, B, *posterior_var.shape[1:])
            log_post = tracker_step(log_post, residual, D_g, D_h, shrink, var, posterior_var)
            history.append(log_post)

    return dict(x=x, log_posterior=torch.stack(history) if tracking else None,
                denoised=torch.stack(denoised) if keep_denoised else None,
                distances=torch.stack(distances) if keep_distances else None, calls=calls)

#----------------------------------------------------------------------------
# Deterministic sampling of the probability-flow ODE (EDM, Karras et al. 2022, arXiv:2206.00364).

ODE_SOLVERS = ('heun', 'euler')

def ode_evaluations(num_intervals, solver='heun'):
    """Denoiser evaluations (NFE) per trajectory of sample_ode over a grid of N intervals ending at 0: Heun 2N - 1
    (its last step, to sigma = 0, is Euler's: Algorithm 1 of arXiv:2206.00364), Euler N. A guided evaluation
    counts once, as the literature counts it, though it calls the network on two branches."""
    if solver not in ODE_SOLVERS:
        raise ValueError(f"solver must be 'heun' or 'euler', got {solver!r}")
    return 2 * num_intervals - 1 if solver == 'heun' else num_intervals

def sample_ode(
    denoiser,                   # D(x, sigma, labels), see entropic.method.denoisers
    sigmas,                     # [N+1] finite, strictly decreasing noise levels ending at 0 (entropic.method.schedules), or above 0
    labels,                     # [B] long: the condition of each trajectory (UNCONDITIONAL allowed)
    x_init,                     # [B, ...] states at sigmas[0]
    guidance    = Guidance(),   # classifier-free guidance with the unconditional model as reference
    solver      = 'heun',       # 'heun' (second order) or 'euler' (first order: deterministic DDIM)
    progress    = False,        # show a progress bar over steps
):
    """Integrate the probability-flow ODE dx/dsigma = (x - D(x; sigma)) / sigma (arXiv:2206.00364, eq. 4 with
    sigma(t) = t, s(t) = 1) down the grid, with D the guided denoiser. 'heun' is EDM's Algorithm 1 without
    churn: an Euler step to sigma_{i+1}, then the trapezoidal correction with the slope there, except on a step
    to sigma = 0, which stays Euler's (x' = D(x; sigma_i)). 'euler' keeps the Euler step alone, which in these
    coordinates is the deterministic DDIM update x' = (sigma'/sigma) x + (1 - sigma'/sigma) D.

    Returns dict(x=[B, ...] the states at sigmas[-1], nfe=guided denoiser evaluations per trajectory (Heun over
    a grid ending at 0: 2N - 1, ode_evaluations), calls=rows evaluated (two per guided evaluation)).
    Raises ValueError for a grid that is not finite and strictly decreasing to 0 or above, FloatingPointError
    where a branch or the guided estimate is NaN or inf (naming sigma and the step).
    """
    if solver not in ODE_SOLVERS:
        raise ValueError(f"solver must be 'heun' or 'euler', got {solver!r}")
    sigmas = [float(s) for s in sigmas]
    if not all(math.isfinite(s) for s in sigmas) or sigmas[-1] < 0 or any(a <= b for a, b in zip(sigmas, sigmas[1:])):
        raise ValueError('sigmas must be finite, strictly decreasing and end at 0 or above (the ODE has no step from '
                         'sigma = inf)')
    labels = torch.as_tensor(labels, dtype=torch.long, device=x_init.device)
    B = x_init.shape[0]
    steps = len(sigmas) - 1
    count = dict(nfe=0, calls=0)

    def guided(x, sigma, step):
        w = guidance.scale_at(sigma)
        count['nfe'] += 1
        if w == 1:
            count['calls'] += B
            D = denoiser(x, sigma, labels)
            _check_finite(D, labels.tolist(), sigma, step, steps)
            return D
        rows = torch.cat([labels, torch.full_like(labels, UNCONDITIONAL)])
        both = denoiser(torch.cat([x, x]), sigma, rows)
        count['calls'] += 2 * B
        _check_finite(both, rows.tolist(), sigma, step, steps)
        D = both[B:] + w * (both[:B] - both[B:])
        _check_finite(D, [f'the guided estimate (w = {w:g})'] * B, sigma, step, steps)
        return D

    x = x_init
    for i in tqdm(range(steps), disable=not progress, desc='sampling', unit='step'):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        slope = (x - guided(x, sigma, i)) / sigma                           # d_i
        x_next = x + (sigma_next - sigma) * slope
        if solver == 'heun' and sigma_next > 0:
            slope_next = (x_next - guided(x_next, sigma_next, i)) / sigma_next
            x_next = x + (sigma_next - sigma) * 0.5 * (slope + slope_next)
        x = x_next
    return dict(x=x, nfe=count['nfe'], calls=count['calls'])
