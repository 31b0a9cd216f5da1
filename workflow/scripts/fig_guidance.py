"""Figures and tables <name>_guidance: where classifier-free guidance puts the semantic information.

One script for every track: a GMM experiment's tracker variants, or a trained model's runs. Guided
trajectories are not drawn from the model's joint, so their tracked posterior entropy is a
cross-entropy (Handke et al. 2026, arXiv:2602.09651, §6). For each variant: the noise level where the `classes` curve crosses half
its range and the peak of its rate (95% bootstrap CIs over trajectories), the shift of the half point
against the unguided baseline, and the share of the drop that happens above the unguided half point."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from entropic.studies import guidance_study
from entropic.files import curve_table, job_log, store
from entropic.pipeline import plotting
from entropic.method.runs import model_runs

plotting.setup()
log = job_log.start(snakemake.log[0])
runs = model_runs({'runs': snakemake.params.variants})
curves = {name: curve_table.read_curve(p).query("partition == 'classes'") for name, p in zip(runs, snakemake.input.curves)}
windows = {name: pd.read_csv(p).query("partition == 'classes' and coordinate == 'log_sigma'").iloc[0]
           for name, p in zip(runs, snakemake.input.windows)}
# The exact reference curve, where one exists (not for pretrained models such as EDM2).
reference = curve_table.read_curve(snakemake.input.reference[0]).query("partition == 'classes'") if snakemake.input.reference else None
baseline = snakemake.params.baseline
shown = [baseline] + [name for name, run in runs.items() if run.guided]
table = guidance_study.sweep_table({name: runs[name] for name in shown}, curves, windows, baseline)
base_half = windows[baseline]['half_entropy']

intervals = []
fig, (ax_h, ax_r) = plt.subplots(1, 2, figsize=(11, 4.2))
if reference is not None:
    ax_h.plot(reference['sigma'], reference['H'], color='k', linewidth=1, label=snakemake.params.reference_label)
for name, color in zip(shown, plotting.sequential_colors(len(shown), 'tab10')):
    c, run = curves[name], runs[name]
    where = ', ' + run.describe() if run.guided and not run.everywhere else ''
    label = f"{name}: w = {run.scale:g}{where}, {int(c['n'].iloc[0])} trajectories"
    plotting.band(ax_h, c['sigma'].to_numpy(), c['H'].to_numpy(), c['H_se'].to_numpy(), color, label=label)
    plotting.band(ax_r, c['sigma'].to_numpy(), c['rate'].to_numpy(), c['rate_se'].to_numpy(), color)
    if run.interval:   # where this variant guides: a bar under the rate curves, one row per variant
        intervals.append((run.interval, color))
for ax in (ax_h, ax_r):
    ax.set_xscale('log')
    top_sigma = (reference if reference is not None else curves[baseline])['sigma'].max()
    ax.set_xlim(np.exp(base_half) / 30, min(top_sigma, np.exp(base_half) * 100))
    ax.set_xlabel(r'EDM noise level $\sigma$')
    ax.axvline(np.exp(base_half), color='0.5', linestyle=':', linewidth=1)
top = ax_r.get_ylim()[1]
for k, ((lo, hi), color) in enumerate(intervals):
    y = -top * (0.04 + 0.05 * k)
    ax_r.plot([max(lo, ax_r.get_xlim()[0]), hi], [y, y], color=color, linewidth=4, solid_capstyle='butt')
if intervals:
    ax_r.text(0.01, 0.02, 'bars: where a limited-interval variant guides', transform=ax_r.transAxes, fontsize=7, color='0.3')
ax_h.set_ylabel('tracked (cross-)entropy (nats)')
ax_r.set_ylabel(r'$dH/d\log\sigma$ (nats)')
ax_h.legend(fontsize=7, loc='upper left')
n = int(curves[baseline]['n'].iloc[0])
fig.suptitle(f"Guidance moves the class decision in noise level ({snakemake.params.name}, "
             f'{n} trajectories in the unguided curve, ±2 SE; dotted: unguided half-entropy point)', fontsize=10)
fig.tight_layout()
store.save_figure(fig, [snakemake.output.pdf, snakemake.output.png])

store.write_csv(table, snakemake.output.csv)
store.write_markdown(pd.DataFrame({
    'variant': table['variant'], 'w': table['scale'], 'interval': table['interval'], 'readout': table['readout'],
    'σ at half entropy (95% CI)': [f'{v:.3g} [{lo:.3g}, {hi:.3g}]' for v, lo, hi in
                                  zip(table['half_sigma'], table['half_sigma_lo'], table['half_sigma_hi'])],
    'peak σ (95% CI)': [f'{v:.3g} [{lo:.3g}, {hi:.3g}]' for v, lo, hi in
                        zip(table['peak_sigma'], table['peak_sigma_lo'], table['peak_sigma_hi'])],
    'Δ log σ (half point)': table['shift_log_sigma'].map('{:+.3f}'.format),
    'share of the drop above the unguided half point': table['share_above_unguided_half'].map('{:.3f}'.format),
}), snakemake.output.md)
for _, row in table.iterrows():
    log.info(f"{row['variant']}: half-entropy sigma {row['half_sigma']:.3g}, shift {row['shift_log_sigma']:+.3f} in log sigma, "
             f"{row['share_above_unguided_half']:.1%} of the drop above the unguided half point")
