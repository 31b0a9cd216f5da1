"""The estimators run on Gaussian mixtures, with the exact denoisers, as the pipeline's GMM rules use them.

For an isotropic mixture the class information of x lies in the span of the centred means: the
posterior, every denoiser difference D(x; h) - D(x; h') and hence every tracking log-likelihood ratio
depend on x only through its projection, and the orthogonal part of the sampler's state evolves the
same way under every hypothesis. So the estimators run on the mixture written in that r-dimensional
span (r <= K - 1), exactly, at a cost independent of d.
"""

import logging

import numpy as np
import torch

from entropic.theory import mixtures, noise
from entropic.method import posterior, runs, sampler
from entropic.method.denoisers import GMMDenoiser
from entropic.theory.partitions import UNCONDITIONAL, has_reference

#----------------------------------------------------------------------------

def in_span(mixture):
    """The same mixture in the coordinates of the span of its centred means: a GaussianMixture in r dims."""
    projected = mixture.project()
    return mixtures.GaussianMixture(projected.coords, projected.variance, projected.weights)

def stratified_labels(weights, total):
    """Component labels, round(total * w_k) of each (at least 1), grouped by component; [n] long."""
    counts = np.maximum(1, np.round(np.asarray(weights) * total).astype(int))
    return torch.as_tensor(np.repeat(np.arange(len(weights)), counts))

def sampler_sigmas(variant, auto_sigma_max):
    """The sampler's decreasing noise levels, ending at 0, for a validated tracker variant."""
    if variant['grid'] == 'ddpm':   # Stable Diffusion 1.5's scaled-linear schedule and timesteps (leading, offset 1)
        return noise.DDPMSchedule(noise.ddpm_alphas_cumprod(), 'leading', 1).sigmas(variant)
    sigma_max = variant.get('sigma_max', auto_sigma_max)
    return noise.edm_sigma_grid(variant['steps'], variant['sigma_min'], sigma_max, variant['rho'], append_zero=True)

def track_mixture(
    mixture,                    # GaussianMixture (any d; tracking runs in the span of its means)
    sigmas,                     # decreasing, ending at 0
    num_trajectories,           # split over the components by their prior (or half and half, see below)
    seed,                       # seeds the initial states and the step noise
    reference_class = None,     # None: track every component; k: the paper's binary form, class k against
                                # the unconditional model, half the trajectories from each (forced prior 1/2)
    start   = 'noise',          # 'noise' (the paper) or 'marginal' (exact marginal and posterior at sigmas[0])
    progress = False,
    **sample_kwargs,            # guidance, kernel, sampler_variance (entropic.method.sampler.sample)
):
    """Returns (levels [N] increasing, hypotheses [H], labels [B], log_post [N, B, H], distances [N, B, H, H]
    or None (sample_kwargs keep_distances)), histories in increasing order of sigma."""
    span = in_span(mixture)
    den = GMMDenoiser(span)
    if reference_class is None:
        hypotheses = list(range(span.num_components))
        labels = stratified_labels(span.weights, num_trajectories)
    else:
        hypotheses = [int(reference_class), UNCONDITIONAL]
        labels = torch.tensor([int(reference_class)] * (num_trajectories // 2) +
                              [UNCONDITIONAL] * (num_trajectories - num_trajectories // 2))
    generator = torch.Generator().manual_seed(int(seed))
    z = torch.randn(len(labels), span.dim, dtype=torch.float64, generator=generator)
    sigma_max = float(sigmas[0])
    if start == 'noise':
        x, log_prior = sigma_max * z, None      # uniform over the hypotheses
        if reference_class is None:
            log_prior = torch.as_tensor(np.log(span.weights))
    elif start == 'marginal':
        # Components of the trajectories: their own, or drawn from the prior for the unconditional ones.
        drawn = torch.as_tensor(np.random.default_rng(int(seed)).choice(span.num_components, len(labels), p=span.weights))
        components = torch.where(labels == UNCONDITIONAL, drawn, labels)
        x = torch.as_tensor(span.means)[components] + np.sqrt(span.variance + sigma_max ** 2) * z
        log_post = den.log_posterior(x, sigma_max)
        if reference_class is None:
            log_prior = log_post
        else:   # log p(x | k) - log p(x) = log p(k | x) - log w_k; the reference's own term is 0
            odds = log_post[:, int(reference_class)] - np.log(span.weights[int(reference_class)])
            log_prior = torch.stack([odds, torch.zeros_like(odds)], -1)
    else:
        raise ValueError(f"start must be 'noise' or 'marginal', got {start!r}")
    out = sampler.sample(den, sigmas, labels, x, generator, hypotheses=hypotheses, log_prior=log_prior,
                         progress=progress, **sample_kwargs)
    distances = None if out['distances'] is None else out['distances'].flip(0)
    return np.asarray(sigmas[:-1])[::-1].copy(), hypotheses, labels, out['log_posterior'].flip(0), distances

def kernel_variances(mixture, levels, kernel):
    """The tracking kernel's variance for the step from each of the increasing `levels` down to the one
    below (entry 0 unused), as posterior.posterior_martingales takes it: None for the paper's kernel (the
    sampler's s^2); for 'exact', s^2 + c^2 Var[x0 | x, k] (one variance for every component)."""
    if kernel == 'sampler':
        return None
    levels = np.asarray(levels, dtype=np.float64)
    below = np.concatenate([[0.0], levels[:-1]])
    shrink = 1 - below ** 2 / levels ** 2
    den = GMMDenoiser(in_span(mixture))
    posterior_variance = np.array([float(den.posterior_variance(sigma, [0])[0]) for sigma in levels])
    return sampler.step_variance(levels, below) + shrink ** 2 * posterior_variance

def track_variant(
    mixture,                    # GaussianMixture of the experiment
    partitions,                 # {name: {'cells': ...}} (the experiment's partitions.json)
    name,                       # the variant's name (gmm.track.variants.<name>), for logs and errors
    variant,                    # its validated config entry (grid, kernel, sampler_variance, estimate, guidance ...)
    num_trajectories,           # trajectories of each tracking run
    seed,                       # the variant's own seed (every run of the variant starts from it)
    auto_sigma_max,             # the top of an EDM grid whose variant sets no sigma_max
    where           = 'gmm',    # the experiment and its file, for errors
    log             = None,     # logging.Logger; None: the 'entropic' logger (the job's log, entropic.files.job_log.start)
):
    """One tracker variant of the Gaussian-mixture track (rule gmm_track_entropy): the paper's estimator,
    posterior tracking along the sampler's trajectories (docs/method.md eq. 6-8; Handke et al. 2026,
    arXiv:2602.09651, App. B), read out for every partition.

    Every partition of the components is read from one set of trajectories that tracks all components; a
    partition against the unconditional reference (partitions.has_reference) gets its own run, the paper's
    binary form, and is skipped for a variant with the exact kernel variance (not defined for the
    reference, whose posterior is a mixture). The guidance and the readout (entropy, or cross-entropy for
    guided trajectories) are the variant's runs.Run. Estimate 'combined' subtracts the control variates of
    posterior.compensated_curve, 'tracker' is posterior.tracked_curve.

    Returns ({partition: curve dict (posterior.tracked_curve's layout)}, readout, levels [L] increasing).
    Raises FloatingPointError naming the variant, the run and `where` when the sampler meets a non-finite
    state."""
    log = logging.getLogger('entropic') if log is None else log
    sigmas = sampler_sigmas(variant, auto_sigma_max)
    run = runs.Run.from_config(name, variant)
    guidance = run.guidance()
    log.info(f'{name}: {len(sigmas) - 1} steps from sigma {sigmas[0]:.4g}, {num_trajectories} '
             f'trajectories, {variant}; readout: {run.readout}')

    def track(reference_class=None):
        try:
            return track_mixture(mixture, sigmas, num_trajectories, seed, reference_class=reference_class,
                                 start=variant['start'], progress=True, guidance=guidance, kernel=variant['kernel'],
                                 sampler_variance=variant['sampler_variance'],
                                 keep_distances=variant['estimate'] == 'combined')
        except FloatingPointError as err:   # the sampler names the noise level and hypothesis; say which run
            against = 'every component' if reference_class is None else f'class {reference_class} against the reference'
            raise FloatingPointError(f'{where} tracker {name}, {against}: {err}') from None

    all_components = track()
    curves = {}
    for part, entry in partitions.items():
        cells = entry['cells']
        if has_reference(cells) and 'exact' in (variant['kernel'], variant['sampler_variance']):
            log.info(f'{name} {part}: skipped; the exact kernel variance is not defined for the unconditional '
                     'reference (its posterior is a mixture, not a Gaussian)')
            continue
        levels, hypotheses, labels, log_post, distances = (track(reference_class=cells[0][0]) if has_reference(cells)
                                                          else all_components)
        if variant['estimate'] == 'combined':
            curve = posterior.compensated_curve(levels, hypotheses, labels, log_post, distances, cells,
                                                kernel_variances(mixture, levels, variant['kernel']), seed=seed)
        else:
            curve = posterior.tracked_curve(levels, hypotheses, labels, log_post, cells)
        log.info(f"{name} {part}: H from {curve['H'][0]:.4f} to {curve['H'][-1]:.4f} nats, max SE "
                 f"{curve['H_se'].max():.2g}, {curve['n'][0]} trajectories")
        curves[part] = curve
    return curves, run.readout, all_components[0]

def immse_mixture(mixture, sigmas, budget, pilot, seed, num_replicates=16):
    """I-MMSE curve of H[Z | X_sigma] (all components) with the exact denoisers, the samples allocated by a
    pilot run (posterior.immse_allocated)."""
    span = in_span(mixture)
    rng = np.random.default_rng(seed)

    def draw(n):
        x, z = span.sample(n, rng)
        return torch.as_tensor(x), torch.as_tensor(z)

    prior_entropy = float(-(span.weights * np.log(span.weights)).sum())
    return posterior.immse_allocated(GMMDenoiser(span), draw, sigmas, prior_entropy, budget, pilot,
                                     torch.Generator().manual_seed(int(seed)), num_replicates)
