"""Figure gmm_hierarchy: coarse (superclass) decisions resolve at higher noise than fine (subclass) ones."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from entropic.files import curve_table, job_log, store
from entropic.pipeline import plotting

plotting.setup()
log = job_log.start(snakemake.log[0])
info = store.read_json(snakemake.input.mixture)
partitions = store.read_json(snakemake.input.partitions)
curves = curve_table.read_curve(snakemake.input.curve)
windows = pd.read_csv(snakemake.input.windows).query("coordinate == 'log_sigma'").set_index('partition')
shown = ['superclasses', 'subclasses-of-0', 'classes']
names = {'superclasses': 'coarse: superclass', 'subclasses-of-0': 'fine: subclass within superclass 0',
         'classes': 'all classes'}
colors = dict(zip(shown, plotting.sequential_colors(3, 'deep')))

fig, (ax_h, ax_r) = plt.subplots(1, 2, figsize=(11, 4.2))
for part in shown:
    curve = curves.query('partition == @part')
    sigma, color = curve['sigma'].to_numpy(), colors[part]
    cells = partitions[part]['cells']
    plotting.band(ax_h, sigma, curve['H'].to_numpy(), curve['H_se'].to_numpy(), color,
                  label=f'{names[part]} ({len(cells)} cells)')
    plotting.band(ax_r, sigma, curve['rate'].to_numpy(), curve['rate_se'].to_numpy(), color)
    w = windows.loc[part]
    for ax in (ax_h, ax_r):
        plotting.mark_window(ax, np.exp(w['width_low']), np.exp(w['width_high']), color)
        plotting.mark_theory(ax, partitions[part]['sigma_S'], color=color)
    ax_r.errorbar([np.exp(w['peak'])], [w['peak_rate']], xerr=[[np.exp(w['peak']) - np.exp(w['peak_lo'])],
                  [np.exp(w['peak_hi']) - np.exp(w['peak'])]], color=color, marker='o', capsize=3)
    log.info(f"{part}: peak sigma {np.exp(w['peak']):.3g} [{np.exp(w['peak_lo']):.3g}, {np.exp(w['peak_hi']):.3g}], "
             f"theory sigma_S {partitions[part]['sigma_S']:.3g}")
for ax in (ax_h, ax_r):
    ax.set_xscale('log')
    ax.set_xlabel(r'EDM noise level $\sigma$')
ax_h.set_ylabel(r'$H[f(Z) \mid X_\sigma]$ (nats)')
ax_r.set_ylabel(r'$dH/d\log\sigma$ (nats)')
ax_h.legend(fontsize=8, loc='upper left')
n = int(curves['n'].iloc[0])
fig.suptitle(f"Hierarchical mixture ({info['spec']['superclasses']} superclasses x {info['spec']['subclasses']} subclasses, "
             f"d = {info['dim']}): coarse resolves before fine\n"
             f'exact entropy (±2 SE bands, ≥{n} evaluations per level); shaded: fitted FWHM window; dot: peak with 95% CI; '
             r'dashed: $\sigma_S=\sqrt{\Lambda-1}$ of the data in play', fontsize=10)
fig.tight_layout()
store.save_figure(fig, list(snakemake.output))
