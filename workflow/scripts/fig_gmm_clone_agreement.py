"""Figure and table gmm_clone_agreement: our exact phi(t) against the clone agreement Biroli et al. published.

Per experiment (two classes +-m, |m|^2 = d, unit variance): the exact collision probability phi(t) of the
experiment's curve in VP time, their stored points (±2 binomial SE over 10,000 pairs) where they published
that d, t_S = 1/2 log Lambda and the t where phi falls to 0.775 (their reading of t_S); below, their points
minus our exact phi at the same t with the tolerance of entropic.studies.peers. The table holds every stored point."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from entropic.theory import mixtures
from entropic.files import curve_table, job_log, store
from entropic.studies import peers
from entropic.pipeline import plotting
from entropic.method import speciation

plotting.setup()
log = job_log.start(snakemake.log[0])
stored = peers.clone_agreement_points()
rng = np.random.default_rng(snakemake.params.seed)
names = snakemake.params.experiments
fig, axes = plt.subplots(2, len(names), figsize=(5 * len(names), 6.5), squeeze=False,
                         gridspec_kw=dict(height_ratios=[2, 1]), sharex='col')
tables = []
for name, means, mixture_path, curve_path, windows_path, (ax, ax_diff) in zip(
        names, snakemake.input.means, snakemake.input.mixtures, snakemake.input.curves, snakemake.input.windows, axes.T):
    info = store.read_json(mixture_path)
    curve = curve_table.read_curve(curve_path).query("partition == 'classes'")
    window = pd.read_csv(windows_path).query("partition == 'classes' and coordinate == 't'").iloc[0]
    exact_t, exact_phi = curve['t'].to_numpy(), curve['phi'].to_numpy()
    points = stored.query('dim == @info["dim"]')
    if len(points):
        table = peers.compare_clone_agreement(mixtures.load_mixture(means, info).project(), points,
                                              snakemake.params.exact['points'], snakemake.params.exact['replicates'], rng)
        tables.append(table.assign(experiment=name))
        # The exact values at their times extend the curve beyond the experiment's grid.
        exact_t, exact_phi = np.concatenate([exact_t, table['t']]), np.concatenate([exact_phi, table['phi']])
    order = np.argsort(exact_t)
    ax.plot(exact_t[order], exact_phi[order], color='C0', label=fr"exact $\varphi(t)$, d = {info['dim']}")
    if len(points):
        ax.errorbar(table['t'], table['phi_peer'], yerr=2 * table['peer_se'], fmt='o', color='C3', markersize=3.5,
                    capsize=2, label=f'Biroli et al. 2024, {peers.CLONE_PAIRS:,} clone pairs per point')
        ax_diff.fill_between(table['t'], -table['tolerance'], table['tolerance'], color='C3', alpha=0.15, linewidth=0,
                             label='tolerance')
        ax_diff.plot(table['t'], table['difference'], 'o', color='C3', markersize=3.5)
        worst = table.loc[table['difference'].abs().idxmax()]
        log.info(f"{name}: {len(table)} stored points, worst |theirs - ours| = {abs(worst['difference']):.4f} at "
                 f"t = {worst['t']:g} (tolerance {worst['tolerance']:.4f}); all within: "
                 f"{bool((table['difference'].abs() <= table['tolerance']).all())}")
    else:
        log.info(f"{name}: no stored points for d = {info['dim']}; the exact curve alone")
        ax_diff.text(0.5, 0.5, f"no stored points for d = {info['dim']}", transform=ax_diff.transAxes, ha='center')
        ax_diff.set_yticks([])
    ax.axhline(speciation.CLONE_AGREEMENT_LEVEL, color='0.6', linewidth=0.8, linestyle=':')
    plotting.mark_theory(ax, info['t_S'], label=r'$t_S=\frac{1}{2}\log\Lambda$')
    if np.isfinite(window['phi_crossing']):
        ax.axvline(window['phi_crossing'], color='C0', linestyle=':', linewidth=1.5, label=r'$t$ where $\varphi = 0.775$')
    ax_diff.axhline(0, color='0.3', linewidth=1)
    ax.set_title(f"{name}: two classes ±m, |m|² = d = {info['dim']}", fontsize=10)
    ax.set_ylabel(r'$\varphi(t)$: probability that two clones agree')
    ax_diff.set_ylabel('theirs − ours')
    ax_diff.set_xlabel('VP time t')
    ax.set_xlim(0, max(10.5, curve['t'].max()))
    ax.legend(fontsize=7)
fig.tight_layout()
store.save_figure(fig, [snakemake.output.pdf, snakemake.output.png])

columns = ['experiment', 'dim', 't', 'sigma', 'phi_peer', 'peer_se', 'phi', 'phi_se', 'difference', 'tolerance', 'z']
table = pd.concat(tables, ignore_index=True)[columns] if tables else pd.DataFrame(columns=columns)
store.write_csv(table, snakemake.output.csv)
store.write_markdown(pd.DataFrame({
    'experiment': table['experiment'], 'd': table['dim'], 't': table['t'],
    'Biroli et al. (± SE)': [f'{p:.4f} ± {s:.4f}' for p, s in zip(table['phi_peer'], table['peer_se'])],
    'exact φ (ours)': table['phi'].map('{:.4f}'.format),
    'theirs − ours': table['difference'].map('{:+.4f}'.format),
    'tolerance': table['tolerance'].map('{:.4f}'.format), 'z': table['z'].map('{:+.2f}'.format),
}), snakemake.output.md)
