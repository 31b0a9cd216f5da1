"""What window-placed guidance buys: the guidance methods compared, and their quality and diversity.

Methods (all at the same samples and seeds, class-conditional, an equal number per class):
- `unguided`; `cfg-<w>`: classifier-free guidance at every noise level (Ho & Salimans 2022);
- `interval-best`: guidance at scale w in a limited interval (Kynkäänniemi et al. 2024), the interval chosen
  by grid search as they do, on a separate tuning set of samples (other seeds), so that its reported
  numbers are not inflated by the selection;
- `window`, `window-x<f>`, `rate`: guidance placed by the measured entropy window (entropic.method.placement).

Their samples are measured by their model's backend (Backend.study_metrics: entropic.studies.sample_metrics,
and for pretrained latent models entropic.studies.image_metrics); the methods' verdicts compare those
metrics' confidence intervals. sweep_table says where each run of a guidance sweep puts the decision.
"""

import itertools

import numpy as np
import torch

from entropic.method import placement, sampler

#----------------------------------------------------------------------------
# Methods.

def tuning_methods(scale, edges):
    """The limited-interval grid: guidance at `scale` for sigma in (lo, hi], every pair of grid edges."""
    return {f'interval-{lo:g}-{hi:g}': sampler.Guidance(scale=scale, sigma_lo=lo, sigma_hi=hi)
            for lo, hi in itertools.combinations(sorted(edges), 2)}

def evaluation_methods(study, best_interval, windows, curve):
    """The compared methods: unguided, CFG everywhere at every scale, the tuned interval and the placed ones."""
    w = study['scale']
    methods = {'unguided': sampler.Guidance()}
    methods.update({f'cfg-{s:g}': sampler.Guidance(scale=s) for s in study['scales']})
    methods['interval-best'] = sampler.Guidance(scale=w, sigma_lo=best_interval[0], sigma_hi=best_interval[1])
    spec = dict(partition=study['partition'])
    methods['window'] = placement.placed_guidance(w, dict(spec, weight='window'), windows, curve)
    methods[f"window-x{study['widen']:g}"] = placement.placed_guidance(
        w, dict(spec, weight='window', widen=study['widen']), windows, curve)
    methods['rate'] = placement.placed_guidance(w, dict(spec, weight='rate'), windows, curve)
    return methods

def guidance_spent(guidance, sigmas):
    """How much guidance a method applies on a sampler grid: the sum over steps of (w(sigma) - 1) / (w - 1)
    per unit log sigma, i.e. the guided length in log sigma at full weight."""
    sigmas = np.asarray([s for s in sigmas if s > 0], dtype=float)
    if guidance.scale == 1 or len(sigmas) < 2:
        return 0.0
    steps = -np.diff(np.log(sigmas))                                   # log-sigma length of each step
    weights = [(guidance.scale_at(s) - 1) / (guidance.scale - 1) for s in sigmas[:-1]]
    return float(np.dot(weights, steps))

def sample_method(denoiser, guidance, labels, shape, sigmas, seed, device='cpu', init_std=None):
    """Class-conditional samples of one method (no tracking); the same seed gives every method the same noise."""
    x_init, generator = sampler.initial_state(len(labels), shape, sigmas[0] if init_std is None else init_std,
                                              seed, device)
    out = sampler.sample(denoiser, sigmas, torch.as_tensor(labels, device=device), x_init, generator, guidance=guidance)
    return out['x'].cpu().numpy()

#----------------------------------------------------------------------------
# Verdicts of the study, and the table of a guidance sweep.

LOWER_IS_BETTER = {'fd': True, 'kl': True, 'accuracy': False, 'precision': False, 'recall': False,
                   'spread_ratio': False, 'fid': True, 'fd_dinov2': True, 'spread': False}

def placed(method):
    """Whether a method of evaluation_methods is placed by the entropy window (window, window-x<f>, rate)."""
    return method == 'rate' or method.startswith('window')

def verdicts(table, select, metrics):
    """Every window-placed method against the best CFG everywhere (best by `select`) and the tuned interval, on
    every metric: 'better' or 'worse' when the two 95% intervals (columns <m>_lo, <m>_hi of the evaluation
    table) do not overlap, 'tie' when they do (conservative: overlapping intervals can hide a real difference).
    Returns a DataFrame with columns method, against, metric, value, rival_value, verdict."""
    import pandas as pd
    cfg = table[table['method'].str.startswith('cfg-')]
    cfg_best = cfg.loc[cfg[select].idxmin() if LOWER_IS_BETTER[select] else cfg[select].idxmax()]
    interval = table.query("method == 'interval-best'").iloc[0]
    rows = []
    for _, method in table[table['method'].map(placed)].iterrows():
        for rival in (cfg_best, interval):
            for m in metrics:
                lo, hi, rlo, rhi = method[f'{m}_lo'], method[f'{m}_hi'], rival[f'{m}_lo'], rival[f'{m}_hi']
                better = (hi < rlo) if LOWER_IS_BETTER[m] else (lo > rhi)
                worse = (lo > rhi) if LOWER_IS_BETTER[m] else (hi < rlo)
                rows.append(dict(method=method['method'], against=rival['method'], metric=m, value=method[m],
                                 rival_value=rival[m], verdict='better' if better else 'worse' if worse else 'tie'))
    return pd.DataFrame(rows, columns=['method', 'against', 'metric', 'value', 'rival_value', 'verdict'])

def share_above(sigma, H, log_sigma):
    """Fraction of a curve's drop (H on increasing sigma) that lies above the noise level exp(log_sigma)."""
    sigma, H = np.asarray(sigma, dtype=float), np.asarray(H, dtype=float)
    at = np.interp(log_sigma, np.log(sigma), H)
    return float((H[-1] - at) / (H[-1] - H[0]))

def sweep_table(runs, curves, windows, baseline='unguided'):
    """Where each run of a guidance sweep puts the decision: per run (entropic.method.runs.Run, in order), the noise
    level where its curve crosses half its range and the peak of its rate with 95% CIs (from its `windows` row
    in log sigma), the shift of the half point against the baseline run, and the share of its drop above the
    baseline's half point. `curves` and `windows` map run names to one partition's curve and window row."""
    import pandas as pd
    base_half = windows[baseline]['half_entropy']
    rows = []
    for name, run in runs.items():
        curve, window = curves[name], windows[name]
        rows.append(dict(variant=name, scale=run.scale,
                         interval='' if not run.interval else f'({run.interval[0]:g}, {run.interval[1]:g}]',
                         placement=run.describe(), readout=curve['readout'].iloc[0],
                         half_sigma=np.exp(window['half_entropy']), half_sigma_lo=np.exp(window['half_entropy_lo']),
                         half_sigma_hi=np.exp(window['half_entropy_hi']),
                         peak_sigma=np.exp(window['peak']), peak_sigma_lo=np.exp(window['peak_lo']),
                         peak_sigma_hi=np.exp(window['peak_hi']),
                         shift_log_sigma=window['half_entropy'] - base_half,
                         share_above_unguided_half=share_above(curve['sigma'], curve['H'], base_half)))
    return pd.DataFrame(rows)
