"""Figures gmm_vp_dimension_sweep, gmm_ve_dimension_sweep, gmm_relative_width (docs/method.md eq. 12).

VP: entropy and |dH/dt| for growing d, raw and against t - 1/2 log Lambda (the curves collapse: the
window keeps an O(1) width while t_S grows like 1/2 log d). VE: the same mixtures in EDM sigma,
raw and against sigma / sigma_S (they collapse too: the width grows with sigma_S, no sharpening).
Figure gmm_flow_dimension_sweep and table gmm_flow_windows, flow matching (rectified flow, t = sigma / (1 + sigma)):
the same exact curves read in flow time, raw and against (1 - t) / (1 - t_S), t_S = sigma_S / (1 + sigma_S); their
windows are fitted here (speciation.flow_window). Relative width: FWHM / peak location in each coordinate against d
(speciation.relative_width), with bootstrap CIs and the two-class closed form.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from entropic.files import curve_table, job_log, store
from entropic.pipeline import plotting
from entropic.method import speciation

plotting.setup()
log = job_log.start(snakemake.log[0])
experiments = snakemake.params.experiments
infos = [store.read_json(p) for p in snakemake.input.mixtures]
curves = [curve_table.read_curve(p).query("partition == 'classes'") for p in snakemake.input.curves]
windows = pd.concat([pd.read_csv(p).query("partition == 'classes'") for p in snakemake.input.windows])
# The flow-time windows of the same curves: H at a noise level is the same in every process, only the window's
# coordinate is new (speciation.flow_window: bootstrap over the same replicates, seeded per experiment).
flow_rows = []
for experiment, info, curve, path, seed in zip(experiments, infos, curves, snakemake.input.samples,
                                               snakemake.params.seeds):
    arrays = store.load_npz(path, keys=['classes/H', 'classes/rate'])
    row = speciation.flow_window(curve['sigma'].to_numpy(), arrays['classes/H'], arrays['classes/rate'], info['Lambda'],
                                 snakemake.params.bootstrap, seed)
    flow_rows.append(dict(experiment=experiment, partition='classes', **row))
    log.info(f"{experiment}: flow time peak t* = {row['peak']:.6f} [{row['peak_lo']:.6f}, {row['peak_hi']:.6f}], "
             f"FWHM {row['width']:.4g}, theory t_S = {row['theory']:.6f}")
store.write_csv(pd.DataFrame(flow_rows), snakemake.output.flow_csv)
windows = pd.concat([windows, pd.DataFrame(flow_rows)], ignore_index=True)
colors = plotting.sequential_colors(len(experiments))

def label(info, curve):
    return f"d = {info['dim']:.0e}".replace('e+0', 'e').replace('e', r'$\times10^{') + '}$' + f", K = {info['num_components']}"

def sweep_figure(coordinate, title):
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    for info, curve, color in zip(infos, curves, colors):
        x, rate = speciation.to_coordinate(curve['sigma'], curve['rate'].to_numpy(), coordinate)
        x_s = speciation.theory_value(info['Lambda'], coordinate)
        scaled_x, scaled_rate = speciation.against_theory(x, rate, x_s, coordinate)
        for ax, xs in ((axes[0, 0], x), (axes[1, 0], scaled_x)):
            plotting.band(ax, xs, curve['H'].to_numpy(), curve['H_se'].to_numpy(), color, label=label(info, curve))
        for ax, xs, rs in ((axes[0, 1], x, rate), (axes[1, 1], scaled_x, scaled_rate)):
            ax.plot(xs, rs, color=color)
        for ax in axes[0]:
            plotting.mark_theory(ax, x_s, color=color)
    for ax in axes[1]:
        plotting.mark_theory(ax, 0 if coordinate == 't' else 1, label='theory: ' + (r'$\sigma_S$' if coordinate == 'sigma' else r'$t_S$'))
    if coordinate == speciation.FLOW_COORDINATE:
        axes[0, 0].set_xlabel('flow time $t$ (1: pure noise)'); axes[0, 1].set_xlabel('flow time $t$ (1: pure noise)')
        axes[0, 1].set_yscale('log'); axes[0, 1].set_ylim(1e-3, None)
        for ax in axes[1]:
            ax.set_xscale('log'); ax.set_xlim(10, 0.03); ax.set_xlabel(r'$(1 - t) / (1 - t_S)$')
        axes[1, 1].set_ylabel(r'$dH/d((1-t)/(1-t_S))$ (nats)')
    elif coordinate == 't':
        axes[0, 0].set_xlabel('VP time $t$'); axes[0, 1].set_xlabel('VP time $t$')
        axes[1, 0].set_xlabel(r'$t - \frac{1}{2}\log\Lambda$'); axes[1, 1].set_xlabel(r'$t - \frac{1}{2}\log\Lambda$')
        axes[1, 1].set_ylabel(plotting.RATE_LABELS['t'])
        for ax in axes[1]:
            ax.set_xlim(-4, 4)
    else:
        for ax in axes[0]:
            ax.set_xscale('log'); ax.set_xlabel(r'EDM noise level $\sigma$')
        axes[1, 0].set_xlabel(r'$\sigma / \sigma_S$'); axes[1, 1].set_xlabel(r'$\sigma / \sigma_S$')
        axes[1, 1].set_ylabel(r'$dH/d(\sigma/\sigma_S)$ (nats)')
        for ax in axes[1]:
            ax.set_xlim(0, 5)
    axes[0, 1].set_ylabel(plotting.RATE_LABELS[coordinate])
    for ax in axes[:, 0]:
        ax.set_ylabel(r'$H[Z \mid X]$ (nats)')
    axes[0, 0].legend(fontsize=8)
    axes[1, 0].legend(fontsize=8, loc='lower right')
    n = int(curves[0]['n'].iloc[0])
    fig.suptitle(f'{title}\nexact entropy (randomised QMC, {n} evaluations per level, band = ±2 SE); dashed: theory', fontsize=11)
    fig.tight_layout()
    return fig

outputs = snakemake.output
store.save_figure(sweep_figure('t', 'VP diffusion: the window sits at $t_S = \\frac{1}{2}\\log\\Lambda$ with an O(1) width'),
               [outputs.vp_pdf, outputs.vp_png])
store.save_figure(sweep_figure('sigma', 'VE / EDM diffusion: the window scales with $\\sigma_S = \\sqrt{\\Lambda - 1}$ (no sharpening)'),
               [outputs.ve_pdf, outputs.ve_png])
store.save_figure(sweep_figure(speciation.FLOW_COORDINATE, 'Flow matching: the same curves in flow time; the window sits at '
                            '$t_S = \\sigma_S / (1 + \\sigma_S)$, $1 - t_S \\propto \\Lambda^{-1/2}$'),
               [outputs.flow_pdf, outputs.flow_png])

# Relative width against d.
fig, ax = plt.subplots(figsize=(6, 4.2))
dims = np.array([info['dim'] for info in infos])
for coordinate, marker, name in (('t', 'o', 'VP: FWHM$_t$ / $t^*$'), ('sigma', 's', r'VE: FWHM$_\sigma$ / $\sigma^*$'),
                                  ('flow_t', '^', 'flow: FWHM$_t$ / $t^*$'), ('flow_t-noise', 'v', 'flow: FWHM$_t$ / $(1 - t^*)$')):
    base, _, against = coordinate.partition('-')
    rows = windows.query('coordinate == @base').set_index('experiment').loc[experiments]
    rel, lo, hi = speciation.relative_width(rows, against or 'peak')
    ax.errorbar(dims, rel, yerr=[np.maximum(rel - lo, 0), np.maximum(hi - rel, 0)], marker=marker,
                linestyle='none', capsize=3, label=name + ' (measured)')
    log.info(f'{coordinate}: relative widths ' + ', '.join(f'd={d}: {r:.3f}' for d, r in zip(dims, rel)))
two_class = [info for info in infos if info['num_components'] == 2 and info['spec']['kind'] == 'simplex']
if two_class:
    signal = two_class[0]['spec']['signal_per_dim']
    dense = np.logspace(np.log10(dims.min()), np.log10(dims.max()), 40)
    closed = [speciation.two_class_windows(d * signal, two_class[0]['variance']) for d in dense]
    for coordinate, style, name in (('t', '-', 'VP'), ('sigma', '--', 'VE'), ('flow_t', ':', 'flow')):
        ax.plot(dense, [w[coordinate]['width'] / w[coordinate]['peak'] for w in closed], color='0.4', linestyle=style,
                linewidth=1, label=f'two-class closed form ({name})')
    ax.plot(dense, [w['flow_t']['width'] / (1 - w['flow_t']['peak']) for w in closed], color='0.4', linestyle='-.',
            linewidth=1, label='two-class closed form (flow, against $1 - t^*$)')
ax.set_xscale('log')
ax.set_yscale('log')
ax.set_xlabel('data dimension $d$ ($|m|^2 = d$)')
ax.set_ylabel('relative window width')
ax.set_title('The VP window sharpens with d; the VE window does not;\nin flow time it crowds towards $t = 1$ '
             r'($\propto d^{-1/2}$) and keeps its width against $1 - t^*$', fontsize=10)
ax.legend(fontsize=8)
fig.tight_layout()
store.save_figure(fig, [outputs.width_pdf, outputs.width_png])
