"""Figure <model>_entropy: a trained model's entropy and rate per partition, against its exact reference.

Rows: `classes`, every partition of the model's file or experiment, and the paper's binary form for
every class (`<k>-vs-reference`, overlaid). Left: H (tracked, ±2 SE) and the reference (dashed), and for
a model trained on a mixture the same tracker run on the mixture's exact denoiser (dotted);
right: dH/dlog sigma, with the fitted window (FWHM, shaded) and the theory value sigma_S = sqrt(Lambda - 1)
of the data the partition acts on (dashed vertical)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from entropic.files import curve_table, job_log, store
from entropic.pipeline import plotting

plotting.setup()
log = job_log.start(snakemake.log[0])
curve = curve_table.read_curve(snakemake.input.curve)
reference = curve_table.read_curve(snakemake.input.reference[0]) if snakemake.input.reference else None   # none for EDM2
exact_denoiser = curve_table.read_curve(snakemake.input.exact_denoiser[0]) if snakemake.input.exact_denoiser else None
windows = pd.read_csv(snakemake.input.windows).query("coordinate == 'log_sigma'").set_index('partition')
partitions = store.read_json(snakemake.input.partitions)
model = snakemake.wildcards.model
binary = [p for p in partitions if p.endswith('-vs-reference')]
rows = [[p] for p in partitions if p not in binary] + ([binary] if binary else [])

fig, axes = plt.subplots(len(rows), 2, figsize=(11, 3.3 * len(rows)), squeeze=False, layout='constrained')
for names, (ax_h, ax_r) in zip(rows, axes):
    colors = ['C0'] if len(names) == 1 else plotting.sequential_colors(len(names), 'tab10')
    for name, color in zip(names, colors):
        c, w = curve.query('partition == @name'), windows.loc[name]
        label = name if len(names) > 1 else f"tracked, {int(c['n'].iloc[0])} trajectories"
        plotting.band(ax_h, c['sigma'].to_numpy(), c['H'].to_numpy(), c['H_se'].to_numpy(), color, label=label)
        plotting.band(ax_r, c['sigma'].to_numpy(), c['rate'].to_numpy(), c['rate_se'].to_numpy(), color)
        if reference is not None:
            r = reference.query('partition == @name')
            ax_h.plot(r['sigma'], r['H'], color='k' if len(names) == 1 else color, linestyle='--', linewidth=1,
                      label=f"{r['estimator'].iloc[0]} reference" if len(names) == 1 else None)
            ax_r.plot(r['sigma'], r['rate'], color='k' if len(names) == 1 else color, linestyle='--', linewidth=1)
        if exact_denoiser is not None:
            e = exact_denoiser.query('partition == @name')
            ax_h.plot(e['sigma'], e['H'], color='0.4' if len(names) == 1 else color, linestyle=':', linewidth=1.5,
                      label='tracker on the exact denoiser' if len(names) == 1 else None)
            ax_r.plot(e['sigma'], e['rate'], color='0.4' if len(names) == 1 else color, linestyle=':', linewidth=1.5)
        if len(names) == 1:
            plotting.mark_window(ax_r, np.exp(w['width_low']), np.exp(w['width_high']), color, label='FWHM (tracked)')
            if partitions[name]['sigma_S'] is not None:
                plotting.mark_theory(ax_r, partitions[name]['sigma_S'], label=r'$\sigma_S=\sqrt{\Lambda-1}$')
        log.info(f"{name}: tracked peak sigma {np.exp(w['peak']):.3g} [{np.exp(w['peak_lo']):.3g}, {np.exp(w['peak_hi']):.3g}], "
                 f"half-entropy sigma {np.exp(w['half_entropy']):.3g}, theory sigma_S "
                 f"{'unknown' if partitions[name]['sigma_S'] is None else format(partitions[name]['sigma_S'], '.3g')}")
    if len(names) > 1 and partitions[names[0]]['sigma_S'] is not None:
        plotting.mark_theory(ax_r, partitions[names[0]]['sigma_S'], label=r'$\sigma_S$ (all data)')
    title = names[0] if len(names) == 1 else "the paper's binary form: class k against the unconditional reference"
    ax_h.set_title(f'{model}: {title}', fontsize=10)
    ax_h.set_ylabel(r'$H$ (nats)')
    ax_r.set_ylabel(r'$dH/d\log\sigma$ (nats)')
    for ax in (ax_h, ax_r):
        ax.set_xscale('log')
        ax.set_xlabel(r'EDM noise level $\sigma$ (data units)')
    ax_h.legend(fontsize=7, ncol=2 if len(names) > 1 else 1)
    ax_r.legend(fontsize=7)
fig.suptitle(f'{model}: tracked entropy (unguided, ±2 SE)' + (' against the exact reference (dashed)' if reference is not None else '')
             + (', and the tracker on the exact denoiser (dotted)' if exact_denoiser is not None else ''), fontsize=11)
store.save_figure(fig, list(snakemake.output))
