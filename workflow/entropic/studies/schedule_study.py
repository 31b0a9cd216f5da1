"""What a schedule buys at few function evaluations, on a Gaussian mixture where the truth is exact.

Unconditional samples of the mixture are drawn by the deterministic sampler (entropic.method.sampler.sample_ode) on a
given sigma grid (entropic.method.schedules), from the exact marginal at sigmas[0] and with the exact denoiser, so
that the only error is the discretisation's. The sampler runs in the span of the centred means
(entropic.studies.mixture_estimators.in_span), which is exact: the posterior and the denoiser's class term depend on x only
through its projection, and the orthogonal part of every state follows one linear ODE, the same for every
trajectory, whose discretisation multiplies it by one number g (orthogonal_gain).

Metrics, per seed (one independent set of samples each), summarised over seeds with Student-t intervals:
- class_kl: KL(w || f) in nats between the mixture weights w and the class frequencies f_k = mean_i p(k | x_i)
  under the exact posterior. The soft frequency is unbiased for exact samples (E p(k | X0) = w_k), so the
  metric measures the sampler's error in how often it decides each class, with no assignment bias.
- span_kl: per class, the KL in nats from a Gaussian fitted to the samples in the span of the means (full
  covariance, each sample weighted by p(k | x_i)) to the component N(mu_k, v0 I_r); the prior-weighted mean
  over classes. Under exact sampling the weighted moments are the component's exactly (E[p(k | X) f(X)] =
  w_k E_k f), so the metric is 0 up to its small-sample bias, about (r + r (r + 1) / 2) / (2 n w_k).
- orthogonal_kl: the KL of the orthogonal complement's Gaussian, (d - r) / 2 (q - 1 - log q) with
  q = g^2 (v0 + sigma_max^2) / v0 the ratio of its variance to v0: exact, no sampling error; the same for every
  class. It is the error in the width of every component, which grows with d.
The exact samples' own values (exact_sample_metrics) are the floor of the sampled metrics at the same n.

The comparison (compare, verdicts) is the same for any model and metric: per seed the tidy rows of
TIDY_COLUMNS, every schedule sampled from the same starts, so a schedule is set against the baseline grid by
the paired difference of their values seed by seed, with a Student-t interval over seeds. Torch is imported
where the sampler runs, not at import: the figure's job reads the rows with numpy and pandas alone.
"""

import math

import numpy as np
import scipy.stats

from entropic.theory import mixtures

EXACT = 'exact samples'     # the schedule name of the floor rows

#----------------------------------------------------------------------------
# The study on a mixture.

def orthogonal_gain(variance, sigmas, solver='heun'):
    """g: the factor by which the sampler maps a coordinate orthogonal to the means from sigmas[0] to sigmas[-1]
    (the ODE there is linear, dx/dsigma = sigma x / (v0 + sigma^2), its exact g sqrt(v0 + sigma_max^2) / sqrt(v0)
    = 1). Computed by the sampler itself on the one-dimensional Gaussian N(0, v0)."""
    import torch

    from entropic.method import sampler
    from entropic.method.denoisers import GMMDenoiser
    single = mixtures.GaussianMixture(np.zeros((1, 1)), variance, np.ones(1))
    x = sampler.sample_ode(GMMDenoiser(single), sigmas, torch.zeros(1, dtype=torch.long),
                           torch.ones(1, 1, dtype=torch.float64), solver=solver)['x']
    return float(x[0, 0])

def sample_metrics(span, y):
    """class_kl and span_kl (module docstring) of samples y [n, r] of the mixture `span` (in_span's); floats."""
    y = np.asarray(y, dtype=np.float64)
    posterior = np.exp(span.log_posterior(y, 0.0))                    # [n, K]
    freq = posterior.mean(0)
    class_kl = float(np.sum(span.weights * (np.log(span.weights) - np.log(np.maximum(freq, 1e-300)))))
    r, v0 = span.dim, span.variance
    kls = []
    for k in range(span.num_components):
        weight = posterior[:, k] / posterior[:, k].sum()
        mean = weight @ y
        centred = y - mean
        cov = (weight[:, None] * centred).T @ centred                 # weighted second moment about the mean
        sign, logdet = np.linalg.slogdet(cov / v0)
        if sign <= 0:
            kls.append(np.inf)                                        # the samples collapse onto a subspace
            continue
        kls.append(0.5 * (np.trace(cov) / v0 + np.sum((mean - span.means[k]) ** 2) / v0 - r - logdet))
    return dict(class_kl=class_kl, span_kl=float(span.weights @ np.array(kls)))

def orthogonal_kl(mixture, sigmas, solver='heun', span=None):
    """(d - r) / 2 (q - 1 - log q), q = g^2 (v0 + sigmas[0]^2) / v0 (module docstring); nats. span: the
    mixture's in_span, where already computed (an SVD of the d-dimensional means)."""
    if span is None:
        from entropic.studies.mixture_estimators import in_span
        span = in_span(mixture)
    q = orthogonal_gain(mixture.variance, sigmas, solver) ** 2 * (mixture.variance + sigmas[0] ** 2) / mixture.variance
    return 0.5 * (mixture.dim - span.dim) * (q - 1 - math.log(q))

def _starts(span, sigma_max, num_samples, seed):
    """One seed's exact samples of the span mixture and the states at sigma_max drawn from them (the exact
    marginal there): (y0 [n, r], x [n, r]), both from default_rng(seed)."""
    rng = np.random.default_rng(seed)
    y0, _ = span.sample(num_samples, rng)
    return y0, y0 + sigma_max * rng.standard_normal(y0.shape)

def schedule_run(
    mixture,        # entropic.theory.mixtures.GaussianMixture (any d)
    sigmas,         # [N+1] decreasing grid ending at 0 (entropic.method.schedules)
    num_samples,    # n unconditional samples
    seed,           # seeds the exact samples at sigmas[0]
    solver = 'heun',
):
    """One seed's metrics of the sampler on this grid: dict(class_kl, span_kl, orthogonal_kl, nfe)."""
    return seed_runs(mixture, sigmas, num_samples, [seed], solver)[0]

def seed_runs(
    mixture,        # entropic.theory.mixtures.GaussianMixture (any d)
    sigmas,         # [N+1] decreasing grid ending at 0 (entropic.method.schedules)
    num_samples,    # n unconditional samples per seed
    seeds,          # one independent set of starts each (schedule_run's, seed by seed)
    solver = 'heun',
    span   = None,  # the mixture's in_span, where already computed (an SVD of the d-dimensional means)
):
    """schedule_run for every seed, [dict(class_kl, span_kl, orthogonal_kl, nfe)] in the order of `seeds`. Every
    seed's trajectories go through the sampler in one batch (each trajectory's ODE is its own: the batch
    changes no result) and the seed-independent orthogonal_kl is computed once."""
    import torch

    from entropic.method import sampler
    from entropic.method.denoisers import GMMDenoiser
    from entropic.studies.mixture_estimators import in_span
    from entropic.theory.partitions import UNCONDITIONAL
    span = in_span(mixture) if span is None else span
    sigmas = np.asarray(sigmas, dtype=np.float64)
    starts = np.concatenate([_starts(span, sigmas[0], num_samples, s)[1] for s in seeds])
    out = sampler.sample_ode(GMMDenoiser(span), sigmas, torch.full((len(starts),), UNCONDITIONAL),
                             torch.as_tensor(starts), solver=solver)
    x = out['x'].numpy().reshape(len(seeds), num_samples, span.dim)
    orthogonal = orthogonal_kl(mixture, sigmas, solver, span)
    return [dict(sample_metrics(span, x[i]), orthogonal_kl=orthogonal, nfe=out['nfe']) for i in range(len(seeds))]

def exact_sample_metrics(mixture, num_samples, seed, span=None):
    """The floor: the same metrics of n exact samples of the mixture (orthogonal_kl 0, nfe 0). span: as seed_runs'."""
    if span is None:
        from entropic.studies.mixture_estimators import in_span
        span = in_span(mixture)
    y0, _ = _starts(span, 0.0, num_samples, seed)
    return dict(sample_metrics(span, y0), orthogonal_kl=0.0, nfe=0)

def t_interval(values, ci_level=0.95):
    """(mean, lo, hi): the mean of the values (one per seed) and its Student-t interval; the interval is the
    point where every value agrees (a single value among them). NaN where a value is not finite."""
    v = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        return math.nan, math.nan, math.nan
    half = float(_half_width(v.std(ddof=1) if len(v) > 1 else 0.0, len(v), np.ptp(v), ci_level))
    return float(v.mean()), float(v.mean() - half), float(v.mean() + half)

def _half_width(sd, n, spread, ci_level):
    """Elementwise: the Student-t half-width t sd / sqrt(n) of a mean of n values with standard deviation sd,
    0 where the values agree (spread, their range, 0)."""
    n = np.asarray(n, dtype=np.float64)
    t = scipy.stats.t.ppf((1 + ci_level) / 2, np.maximum(n - 1, 1))
    return np.where(np.asarray(spread) > 0, t * np.asarray(sd) / np.sqrt(n), 0.0)

def _group_intervals(frame, keys, column, ci_level):
    """t_interval of `column` over the rows of each group of `frame` by `keys`, all groups at once: a DataFrame
    indexed by the groups (in order of appearance) with columns mean, lo, hi, n."""
    values = frame[column].to_numpy(dtype=np.float64)
    grouped = frame[keys].assign(v=values, bad=~np.isfinite(values)).groupby(keys, sort=False)
    stats = grouped.agg(mean=('v', 'mean'), sd=('v', 'std'), n=('v', 'size'), low=('v', 'min'), high=('v', 'max'),
                        bad=('bad', 'any'))
    mean = stats['mean'].where(~stats['bad'])
    half = _half_width(stats['sd'].fillna(0.0), stats['n'], stats['high'] - stats['low'], ci_level)
    return stats.assign(mean=mean, lo=mean - half, hi=mean + half)[['mean', 'lo', 'hi', 'n']]

def summarise(runs, ci_level=0.95):
    """{name: mean over the runs (seeds), name_lo, name_hi: its Student-t interval (t_interval)} for every metric
    of the runs (a list of dicts of floats)."""
    out = {}
    for name in runs[0]:
        out[name], out[f'{name}_lo'], out[f'{name}_hi'] = t_interval([run[name] for run in runs], ci_level)
    return out

def schedule_quality(
    mixture,        # entropic.theory.mixtures.GaussianMixture
    grids,          # {schedule name: [N+1] grid}
    num_samples,    # n per seed
    seeds,          # the seeds: one independent set of samples each, the same starts for every schedule
    solver = 'heun',
):
    """Rows, one per schedule and one for the exact samples (schedule 'exact samples'): dict(schedule, steps
    (N intervals), nfe, and summarise's mean and interval of class_kl, span_kl, orthogonal_kl)."""
    from entropic.studies.mixture_estimators import in_span
    span = in_span(mixture)
    rows = [dict(schedule=EXACT, steps=0, **summarise([exact_sample_metrics(mixture, num_samples, s, span)
                                                       for s in seeds]))]
    for name, sigmas in grids.items():
        runs = seed_runs(mixture, sigmas, num_samples, seeds, solver, span)
        rows.append(dict(schedule=name, steps=len(sigmas) - 1, **summarise(runs)))
    return rows

MIXTURE_METRICS = ['class_kl', 'span_kl', 'orthogonal_kl']

def _log_levels(log, name, solver, steps, grids):
    """Each grid's interior levels, where they are few enough to read (N <= 8)."""
    if log and steps <= 8:
        log.info(f'{name}, {solver}, {steps} intervals, interior levels: ' + '; '.join(
            f"{s} [{', '.join(f'{v:.3g}' for v in g[1:-2])}]" for s, g in grids.items()))

def mixture_study(
    name,           # the experiment's name (the rows' `name`)
    mixture,        # entropic.theory.mixtures.GaussianMixture
    settings,       # a validated gmm.schedule_study entry: nfe, solvers, lambdas, samples, sigma_min, sigma_max, mmse
    seeds,          # one independent set of starts each, the same for every grid
    mmse_seed,      # seeds the quasi-Monte Carlo tabulation of the curves that place the grids
    log = None,     # a logging.Logger for the curves and the grids' levels, or None
):
    """The study of one mixture: its exact mmse and class entropy tabulated on settings['mmse']['levels']
    log-uniform levels of [sigma_min, sigma_max] (entropic.theory.exact.mixture_mmse; the class entropy made
    non-decreasing), every grid of entropic.method.schedules.named_grids at every budget of evaluations and solver
    (solver_steps), sampled per seed (seed_runs), and the exact samples' floor; TIDY_COLUMNS rows (dicts)."""
    from entropic.theory import exact, noise
    from entropic.method import schedules
    from entropic.studies.mixture_estimators import in_span
    span = in_span(mixture)                     # once: an SVD of the d-dimensional means
    K = mixture.num_components
    table = settings['mmse']
    sigmas = noise.log_sigma_grid(table['levels'], settings['sigma_min'], settings['sigma_max'])
    curve = exact.mixture_mmse(mixture, sigmas, table['points'], table['replicates'], np.random.default_rng(mmse_seed))
    class_entropy = schedules.monotone_class_entropy(sigmas, sigmas, curve['H'], K)
    if log:
        log.info(f"{name}: mmse from {curve['mmse'][0]:.4g} to {curve['mmse'][-1]:.4g} (max relative SE "
                 f"{np.max(curve['mmse_se'] / curve['mmse']):.2g}), H[Z | X] from {class_entropy[0]:.4f} to "
                 f"{class_entropy[-1]:.4f} nats of log K = {np.log(K):.4f}, on {len(sigmas)} levels")
    floor = [exact_sample_metrics(mixture, settings['samples'], s, span) for s in seeds]
    rows = tidy_rows(name, 'exact', 1.0, 0, 0, EXACT, seeds, floor, MIXTURE_METRICS)
    for solver in settings['solvers']:
        for nfe in settings['nfe']:
            steps = solver_steps(nfe, solver)
            grids = schedules.named_grids(sigmas, curve['mmse'], class_entropy, K, settings['lambdas'], steps)
            for schedule, grid in grids.items():
                runs = seed_runs(mixture, grid, settings['samples'], seeds, solver, span)
                rows += tidy_rows(name, solver, 1.0, runs[0]['nfe'], steps, schedule, seeds, runs, MIXTURE_METRICS)
            _log_levels(log, name, solver, steps, grids)
    return rows

#----------------------------------------------------------------------------
# The study on a network.

def own_samples(paths):
    """The x0 of a pretrained model's measured mmse, which has no training data at hand: the final samples of
    its unconditional model (label UNCONDITIONAL) in the trajectory shards `paths` of an unguided run, as
    (x [n, ...] float32 tensor, labels [n] long tensor, all UNCONDITIONAL). The unconditional denoiser's error on
    them bounds from above the mmse of the distribution the model samples (equal where the denoiser is that
    distribution's exact one), which is the data's only where the model and its sampler are exact: a proxy for
    the data's mmse. ValueError naming the shards where they hold no such sample."""
    import torch

    from entropic.files import store
    from entropic.theory.partitions import UNCONDITIONAL
    shards = [store.load_npz(path, keys=['x', 'labels']) for path in paths]
    x = np.concatenate([s['x'][s['labels'] == UNCONDITIONAL] for s in shards])
    if len(x) == 0:
        raise ValueError(f"{', '.join(map(str, paths))}: no final sample of the unconditional model to measure the "
                         'mmse on; the run needs trajectories of the reference (label -1)')
    return torch.as_tensor(x, dtype=torch.float32), torch.full((len(x),), UNCONDITIONAL, dtype=torch.long)

def network_study(
    name,           # the model's name: the rows' `name` is '<name>, class-conditional' or '<name>, unconditional'
    model,          # entropic.backends.Model (its denoiser, classes, shape and device)
    draw_data,      # draw_data(n) -> (x0 [n, ...] tensor, labels [n] long): samples of the training data, or
                    # of a pretrained model's own distribution (own_samples)
    class_curve,    # (sigmas [M] increasing, H [M] nats): the class entropy of an unguided run (partition `classes`)
    settings,       # a validated models.<model>.schedule_study entry: nfe, solvers, lambdas, guidance, samples, mmse
    sigma_range,    # (sigma_min, sigma_max) of every grid: the model's sampler's
    seeds,          # one set of starts each, the same for every grid
    measure,        # measure(x [n, ...] numpy, labels [n]) -> {metric: value} (Backend.schedule_metrics)
    mmse_seed,      # seeds the measured mmse's data and noise
    log = None,     # a logging.Logger for the curves and the grids' levels, or None
):
    """The study of a network: its measured mmse (entropic.method.schedules.measured_mmse, the unconditional denoiser's
    squared error on forward-noised draws of draw_data: on training data an upper bound of the optimal one, on a
    pretrained model's own samples a proxy) tabulated on settings['mmse']['levels'] log-uniform levels of
    sigma_range and the run's class entropy place the grids (named_grids); per budget, solver and grid, `samples`
    samples per seed from x = sigma_max n: class-conditional ones (labels cycling over the classes) at every
    guidance scale, and unconditional ones, each set measured by `measure`; TIDY_COLUMNS rows (dicts), guidance 1
    for the unconditional rows. A grid equal to one already sampled at the same budget (every grid of N = 2
    intervals is [sigma_max, sigma_min, 0]) takes that grid's values: the same starts on the same grid give the
    same samples."""
    import torch

    from entropic.theory import noise
    from entropic.method import sampler, schedules
    from entropic.theory.partitions import UNCONDITIONAL
    table = settings['mmse']
    sigmas = noise.log_sigma_grid(table['levels'], *sigma_range)
    mmse, mmse_se = schedules.measured_mmse(model.denoiser, draw_data, sigmas, table['samples'],
                                            torch.Generator().manual_seed(int(mmse_seed)))
    classes, n = list(model.classes), settings['samples']
    class_entropy = schedules.monotone_class_entropy(sigmas, *class_curve, len(classes))
    if log:
        log.info(f'{name}: measured mmse from {mmse[0]:.4g} to {mmse[-1]:.4g} (max relative SE '
                 f'{np.max(mmse_se / mmse):.2g}); class entropy from {class_entropy[0]:.4f} to {class_entropy[-1]:.4f} '
                 f'nats of log K = {np.log(len(classes)):.4f}, on {len(sigmas)} levels')
    conditional = np.resize(np.asarray(classes), n)
    settings_of = [(f'{name}, class-conditional', w, conditional) for w in settings['guidance']]
    settings_of.append((f'{name}, unconditional', 1.0, np.full(n, UNCONDITIONAL)))
    rows = []
    for solver in settings['solvers']:
        for nfe in settings['nfe']:
            steps = solver_steps(nfe, solver)
            grids = schedules.named_grids(sigmas, mmse, class_entropy, len(classes), settings['lambdas'], steps)
            done = {}       # (grid, setting) -> (evaluations, runs) of the grids sampled at this budget
            for schedule, grid in grids.items():
                for row_name, w, labels in settings_of:
                    key = (np.asarray(grid, dtype=np.float64).tobytes(), row_name, w)
                    if key not in done:
                        starts = torch.cat([sampler.initial_state(n, model.shape, grid[0], s, model.device)[0]
                                            for s in seeds])
                        out = sampler.sample_ode(model.denoiser, grid, torch.as_tensor(np.tile(labels, len(seeds))),
                                                 starts, guidance=sampler.Guidance(scale=w), solver=solver)
                        x = out['x'].cpu().numpy().reshape(len(seeds), n, *model.shape)
                        done[key] = out['nfe'], [measure(x[i], labels) for i in range(len(seeds))]
                    evaluations, runs = done[key]
                    rows += tidy_rows(row_name, solver, w, evaluations, steps, schedule, seeds, runs, list(runs[0]))
            _log_levels(log, name, solver, steps, grids)
    return rows

#----------------------------------------------------------------------------
# The comparison, for any model: tidy rows per seed, paired differences against the baseline grid.

# One row per value: the experiment or model (name), the solver ('exact' for the exact samples), the guidance
# scale (1: none), the evaluations per trajectory, the grid's intervals, the schedule, the seed, the metric.
TIDY_COLUMNS = ['name', 'solver', 'guidance', 'nfe', 'steps', 'schedule', 'seed', 'metric', 'value']
# The metrics of the study, {name: (axis label with its unit, lower is better)}.
METRICS = {
    'class_kl': ('class-frequency KL(w ‖ f) (nats)', True),
    'span_kl': ('per-class Gaussian-fit KL in the span (nats)', True),
    'orthogonal_kl': ('orthogonal width KL (nats)', True),
    'accuracy': ('reference-classifier accuracy', False),
    'histogram_kl': ('class histogram KL(f ‖ uniform) (nats)', True),
    'fd': ('Fréchet distance in classifier features', True),
    'fid': ('FID', True),
    'fd_dinov2': ('FD-DINOv2', True),
}

def solver_steps(nfe, solver):
    """The grid's intervals N for a budget of `nfe` evaluations per trajectory: Euler N = nfe, Heun the largest
    N with 2N - 1 <= nfe (entropic.method.sampler.ode_evaluations). ValueError where N < 2 (no grid has fewer)."""
    from entropic.method.sampler import ODE_SOLVERS
    if solver not in ODE_SOLVERS:
        raise ValueError(f"solver must be one of {ODE_SOLVERS}, got {solver!r}")
    steps = int(nfe) if solver == 'euler' else (int(nfe) + 1) // 2
    if steps < 2:
        raise ValueError(f'{nfe} evaluations give {solver} {steps} interval(s); a grid needs at least 2 '
                         f"({'3' if solver == 'heun' else '2'} evaluations or more)")
    return steps

def tidy_rows(name, solver, guidance, nfe, steps, schedule, seeds, runs, metrics):
    """The TIDY_COLUMNS rows of one schedule's runs (one dict of metric values per seed), for `metrics`."""
    return [dict(name=name, solver=solver, guidance=guidance, nfe=nfe, steps=steps, schedule=schedule, seed=seed,
                 metric=m, value=float(run[m])) for seed, run in zip(seeds, runs) for m in metrics]

def compare(frame, baseline='edm', ci_level=0.95):
    """Per (name, solver, guidance, nfe, steps, metric, schedule): the mean over seeds with its Student-t interval
    (mean, lo, hi, seeds), and the gain over the baseline schedule of the same group, paired by seed (gain,
    gain_lo, gain_hi: baseline - schedule for a metric whose lower value is better (METRICS), schedule -
    baseline otherwise; > 0 is better than the baseline; 0 for the baseline, NaN for the exact samples).
    `frame`: TIDY_COLUMNS rows. ValueError naming a group whose baseline lacks a seed the schedule has."""
    keys = ['name', 'solver', 'guidance', 'nfe', 'steps', 'metric']
    summary = _group_intervals(frame, keys + ['schedule'], 'value', ci_level).rename(columns={'n': 'seeds'})
    base = frame.loc[frame['schedule'] == baseline, keys + ['seed', 'value']].rename(columns={'value': 'base'})
    sampled = frame[frame['schedule'] != EXACT].merge(base, on=keys + ['seed'], how='left', indicator=True)
    missing = sampled[sampled['_merge'] == 'left_only']
    if len(missing):
        first = missing.iloc[0]
        seeds = sorted(int(s) for s in missing.loc[(missing[keys] == first[keys]).all(axis=1), 'seed'].unique())
        raise ValueError(f"{first[keys].to_dict()}: the baseline {baseline!r} has no value for seeds {seeds}; "
                         'every schedule needs the same seeds')
    sign = np.where(sampled['metric'].map(lambda m: METRICS.get(m, ('', True))[1]), 1.0, -1.0)
    sampled['gain'] = sign * (sampled['base'].to_numpy() - sampled['value'].to_numpy())
    gains = _group_intervals(sampled, keys + ['schedule'], 'gain', ci_level)
    summary = summary.join(gains[['mean', 'lo', 'hi']].rename(columns=lambda c: {'mean': 'gain'}.get(c, f'gain_{c}')))
    return summary.reset_index()

def verdicts(summary, baseline='edm'):
    """Which schedule wins, per (name, solver, guidance, nfe, metric) of compare's summary: the best schedule by
    its mean, its gain over the baseline with the interval, and the verdict: 'better' than the baseline where
    the paired interval lies above 0, 'tie' where it holds 0; the best being the baseline itself, the
    runner-up's (negative) gain decides whether the baseline is 'best' or in a 'tie'; 'n/a' where a value is not
    finite. A DataFrame with columns name, solver, guidance, nfe, metric, best, mean, lo, hi, baseline_mean,
    rival, gain, gain_lo, gain_hi, verdict."""
    import pandas as pd
    rows = []
    keys = ['name', 'solver', 'guidance', 'nfe', 'metric']
    for group, g in summary[summary['schedule'] != EXACT].groupby(keys, sort=False):
        lower = METRICS.get(group[-1], ('', True))[1]
        g = g.sort_values('mean', ascending=lower, kind='stable')
        best, base = g.iloc[0], g[g['schedule'] == baseline].iloc[0]
        rival = best if best['schedule'] != baseline else (g.iloc[1] if len(g) > 1 else best)
        gain, gain_lo, gain_hi = rival['gain'], rival['gain_lo'], rival['gain_hi']
        if not np.isfinite(gain_lo):
            verdict = 'n/a'                 # a value that is not finite (samples collapsed onto a subspace)
        elif rival['schedule'] == baseline or not (gain_lo > 0 or gain_hi < 0):
            verdict = 'tie'
        else:   # the best beats the baseline, or the baseline beats the runner-up, by a resolved margin
            verdict = 'best' if best['schedule'] == baseline else 'better'
        rows.append(dict(zip(keys, group), best=best['schedule'], mean=best['mean'], lo=best['lo'], hi=best['hi'],
                         baseline_mean=base['mean'], rival=rival['schedule'], gain=gain, gain_lo=gain_lo,
                         gain_hi=gain_hi, verdict=verdict))
    return pd.DataFrame(rows)
