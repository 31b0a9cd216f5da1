"""Figure and table <model>_guidance_study: quality against diversity for every guidance method, where each
method spends its guidance relative to the entropy window, and the verdict for window-placed guidance.

The verdicts compare confidence intervals (entropic.studies.guidance_study.verdicts)."""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from entropic.studies import guidance_study
from entropic.files import curve_table, job_log, store
from entropic.pipeline import plotting
from entropic.studies.guidance_study import LOWER_IS_BETTER

plotting.setup()
log = job_log.start(snakemake.log[0])
table = pd.read_csv(snakemake.input.evaluation)
tuning = pd.read_csv(snakemake.input.tuning)
window = pd.read_csv(snakemake.input.windows).query("partition == @snakemake.params.study['partition'] and coordinate == 'log_sigma'").iloc[0]
curve = curve_table.read_curve(snakemake.input.curve).query("partition == @snakemake.params.study['partition']")
select = snakemake.params.select
NAMES = {'fd': 'FD (features of a real-digit classifier)', 'kl': 'KL to the true components (nats)',
         'accuracy': 'class accuracy', 'precision': 'precision', 'recall': 'recall (per class)',
         'spread_ratio': 'within-class spread / real', 'fid': 'FID (Inception-v3)', 'fd_dinov2': 'FD-DINOv2',
         'spread': 'within-class spread (DINOv2 features)'}
if 'kl' in table.columns:                # a Gaussian mixture: exact metrics
    metrics, fronts = ['accuracy', 'kl'], [('kl', 'accuracy')]
elif 'fd_dinov2' in table.columns:       # a pretrained model: FID and FD-DINOv2 against reference statistics
    metrics, fronts = ['fid', 'fd_dinov2', 'spread'], [('spread', 'fd_dinov2'), ('spread', 'fid')]
else:                                    # digits: features of a real-digit classifier
    metrics, fronts = ['fd', 'accuracy', 'precision', 'recall', 'spread_ratio'], [('recall', 'fd'), ('recall', 'accuracy')]

def family(method):
    if method == 'unguided':
        return 'unguided', 'k'
    if method.startswith('cfg-'):
        return 'CFG everywhere', 'C0'
    if method.startswith('interval'):
        return 'limited interval (grid search)', 'C1'
    return 'placed by the entropy window', 'C3'

verdicts = guidance_study.verdicts(table, select, metrics)

# Figure: the fronts, then where each method guides.
fig, axes = plt.subplots(1, len(fronts) + 1, figsize=(5.2 * (len(fronts) + 1), 4.6),
                         gridspec_kw=dict(width_ratios=[1] * len(fronts) + [1.3]))
for ax, (xm, ym) in zip(axes, fronts):
    for _, row in table.iterrows():
        label, color = family(row['method'])
        ax.errorbar(row[xm], row[ym], xerr=[[row[xm] - row[f'{xm}_lo']], [row[f'{xm}_hi'] - row[xm]]],
                    yerr=[[row[ym] - row[f'{ym}_lo']], [row[f'{ym}_hi'] - row[ym]]], fmt='o', color=color, ms=5,
                    capsize=2, label=label)
        ax.annotate(row['method'], (row[xm], row[ym]), fontsize=6, xytext=(3, 3), textcoords='offset points')
    cfg = table[table['method'].str.startswith('cfg-')].sort_values('scale')
    ax.plot(cfg[xm], cfg[ym], color='C0', linewidth=0.8, alpha=0.6)
    ax.set_xlabel(NAMES[xm] + (' ↓' if LOWER_IS_BETTER[xm] else ' ↑'))
    ax.set_ylabel(NAMES[ym] + (' ↓' if LOWER_IS_BETTER[ym] else ' ↑'))
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=7)

ax = axes[-1]
sigma_min, sigma_max = curve['sigma'].min(), curve['sigma'].max()
ax.axvspan(np.exp(window['width_low']), np.exp(window['width_high']), color='0.85', label='entropy window (FWHM)')
for i, (_, row) in enumerate(table.iterrows()):
    _, color = family(row['method'])
    if row['scale'] == 1:
        continue
    if row['placement'].startswith('weighted'):
        weight = np.clip(curve['rate'] / curve['rate'].max(), 0, 1)
        ax.fill_between(curve['sigma'], i - 0.35 * weight, i + 0.35 * weight, color=color, alpha=0.7, linewidth=0)
    else:
        lo, hi = max(row['sigma_lo'], sigma_min), min(row['sigma_hi'], sigma_max)
        ax.plot([lo, hi], [i, i], color=color, linewidth=6, solid_capstyle='butt')
ax.set_yticks(range(len(table)), [f"{m} (w={s:g})" for m, s in zip(table['method'], table['scale'])], fontsize=7)
ax.set_xscale('log')
ax.set_xlim(sigma_min, sigma_max)
ax.set_xlabel(r'EDM noise level $\sigma$')
ax.invert_yaxis()
twin = ax.twinx()
twin.plot(curve['sigma'], curve['rate'], color='0.4', linewidth=1, linestyle='--', label='dH/dlog σ (unguided)')
twin.set_ylabel(r'$dH/d\log\sigma$ (nats), unguided', fontsize=8)
twin.grid(False)
ax.legend(loc='lower left', fontsize=7)
ax.set_title('where each method guides', fontsize=9)
n = int(table['samples'].iloc[0])
fig.suptitle(f'{snakemake.params.name}: guidance placed by the entropy window against CFG everywhere and the '
             f'grid-searched interval ({n} samples per method, the same seeds; 95% CIs over folds)', fontsize=10)
fig.tight_layout()
store.save_figure(fig, [snakemake.output.pdf, snakemake.output.png])

# Tables.
store.write_csv(table, snakemake.output.csv)
def ci(row, m):
    return f"{row[m]:.3g} [{row[m + '_lo']:.3g}, {row[m + '_hi']:.3g}]"
shown = pd.DataFrame({'method': table['method'], 'w': table['scale'], 'guided on': table['placement'],
                      'guided length (log σ)': table['spent'].map('{:.2f}'.format),
                      **{NAMES[m]: [ci(r, m) for _, r in table.iterrows()] for m in metrics}})
chosen = tuning.loc[tuning[select].idxmin()]
summary = verdicts.groupby(['method', 'against'])['verdict'].apply(lambda v: ', '.join(
    f'{m}: {x}' for m, x in zip(verdicts.loc[v.index, 'metric'], v))).reset_index()
with store.atomic_path(snakemake.output.md) as tmp:
    tmp.write_text(
        shown.to_markdown(index=False) + '\n\n'
        + f"The limited interval was chosen on a separate tuning set (other seeds) by {select} among "
        f"{len(tuning)} intervals: ({chosen['sigma_lo']:g}, {chosen['sigma_hi']:g}]. The entropy window "
        f"(FWHM of dH/dlog σ of the `{Path(snakemake.input.curve).stem}` curve, partition "
        f"`{snakemake.params.study['partition']}`) is ({np.exp(window['width_low']):.3g}, {np.exp(window['width_high']):.3g}].\n\n"
        + 'Verdicts (95% CIs; `tie` when they overlap):\n\n' + summary.to_markdown(index=False) + '\n')
for _, row in summary.iterrows():
    log.info(f"{row['method']} vs {row['against']}: {row['verdict']}")
