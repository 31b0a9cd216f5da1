"""Figure gmm_estimators: every estimator's curve against the exact entropy, and its error with ±2 SE."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.interpolate import CubicSpline

from entropic.files import curve_table, job_log, store
from entropic.pipeline import plotting

plotting.setup()
log = job_log.start(snakemake.log[0])
curves = {}
for path in snakemake.input.curves:
    experiment = path.split('/')[-3]
    curves.setdefault(experiment, []).append(curve_table.read_curve(path))
panels = snakemake.params.panels
# One colour per estimator across every panel, so that a reader can follow an estimator down the figure.
names = sorted({e for frames in curves.values() for f in frames for e in f.query("readout == 'entropy'")['estimator'].unique()} - {'exact'})
colors = dict(zip(names, plotting.sequential_colors(len(names), 'deep')))
fig, axes = plt.subplots(len(panels), 2, figsize=(11, 3.6 * len(panels)), squeeze=False)
for (experiment, partition), (ax_h, ax_e) in zip(panels, axes):
    frames = pd.concat(curves[experiment]).query('partition == @partition')
    exact = frames.query("estimator == 'exact'")
    reference = CubicSpline(np.log(exact['sigma']), exact['H'])
    ax_h.plot(exact['sigma'], exact['H'], color='k', linewidth=1.5, label='exact')
    # Guided variants measure a cross-entropy, not this entropy: they belong to the guidance figure.
    estimators = [e for e in frames.query("readout == 'entropy'")['estimator'].unique() if e != 'exact']
    for name in estimators:
        color = colors[name]
        c = frames.query('estimator == @name')
        inside = (c['sigma'] >= exact['sigma'].min()) & (c['sigma'] <= exact['sigma'].max())
        c = c[inside]
        count = f"{int(c['n'].sum())} samples" if name == 'immse' else f"{int(c['n'].iloc[0])} trajectories"
        label = f'{name}, {count}'

        ax_h.plot(c['sigma'], c['H'], marker='.', linestyle='none', color=color, label=label)
        error = c['H'].to_numpy() - reference(np.log(c['sigma']))
        plotting.band(ax_e, c['sigma'].to_numpy(), error, c['H_se'].to_numpy(), color)
        worst = np.max(np.abs(error) - 2 * c['H_se'].to_numpy())
        log.info(f'{experiment}/{partition} {name}: max |error| {np.abs(error).max():.4f} nats, '
                 f'max |error| beyond 2 SE {max(worst, 0):.4f}')
    ax_e.axhline(0, color='k', linewidth=1)
    for ax in (ax_h, ax_e):
        ax.set_xscale('log')
        ax.set_xlabel(r'EDM noise level $\sigma$')
    ax_h.set_ylabel(r'$H$ (nats)')
    ax_e.set_ylabel('estimate − exact (nats), band ±2 SE')
    ax_h.set_title(f'{experiment}, partition {partition}', fontsize=10)
    ax_h.legend(fontsize=7)
fig.suptitle('Estimators against the exact entropy (exact interpolated at each estimator\'s noise levels)', fontsize=11)
fig.tight_layout()
store.save_figure(fig, list(snakemake.output))
