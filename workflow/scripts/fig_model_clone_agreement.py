"""Figure and table <model>_clone_agreement: Biroli et al.'s cloning on a trained network against the tracker.

At every branch level: the fraction of clone pairs whose ends the classifier puts in the same class (±2
binomial SE), the tracker's phi = E sum_c p(c | x)^2 of the unguided run's `classes` curve at the same sampler
level (±2 SE), and the exact phi of the model's reference (the training set, or the mixture; dashed), with
sigma_S. The table holds the difference agreement - tracker with its standard error (the two are independent
samples)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from entropic.files import curve_table, job_log, store
from entropic.pipeline import plotting

plotting.setup()
log = job_log.start(snakemake.log[0])
model = snakemake.wildcards.model
clones = pd.read_csv(snakemake.input.clones)
curve = curve_table.read_curve(snakemake.input.curve).query("partition == 'classes'")
reference = curve_table.read_curve(snakemake.input.reference).query("partition == 'classes'")
sigma_s = store.read_json(snakemake.input.partitions)['classes']['sigma_S']

match = [np.flatnonzero(np.isclose(curve['sigma'].to_numpy(), s, rtol=1e-8)) for s in clones['sigma']]
if any(len(m) != 1 for m in match):
    raise ValueError(f'{snakemake.input.clones}: branch levels {clones["sigma"].tolist()} are not levels of '
                     f'{snakemake.input.curve}; rerun both with the same sampler')
tracked = curve.iloc[[m[0] for m in match]]
table = clones.assign(tracker_phi=tracked['phi'].to_numpy(), tracker_phi_se=tracked['phi_se'].to_numpy(),
                      trajectories=tracked['n'].to_numpy())
table['difference'] = table['agreement'] - table['tracker_phi']
table['difference_se'] = np.hypot(table['agreement_se'], table['tracker_phi_se'])
table['z'] = table['difference'] / table['difference_se']
store.write_csv(table, snakemake.output.csv)
store.write_markdown(pd.DataFrame({
    'σ': table['sigma'].map('{:.3g}'.format), 't (VP)': table['t'].map('{:.3f}'.format), 'pairs': table['pairs'],
    'clone agreement': [f'{a:.4f} ± {s:.4f}' for a, s in zip(table['agreement'], table['agreement_se'])],
    "tracker's E Σ p²": [f'{a:.4f} ± {s:.4f}' for a, s in zip(table['tracker_phi'], table['tracker_phi_se'])],
    'trajectories': table['trajectories'],
    'agreement − tracker': [f'{a:+.4f} ± {s:.4f}' for a, s in zip(table['difference'], table['difference_se'])],
    'z': table['z'].map('{:+.1f}'.format),
}), snakemake.output.md)

fig, (ax, ax_diff) = plt.subplots(1, 2, figsize=(11, 3.8))
plotting.band(ax, curve['sigma'].to_numpy(), curve['phi'].to_numpy(), curve['phi_se'].to_numpy(), 'C0',
              label=f"tracker's E Σ p², {int(curve['n'].iloc[0])} trajectories")
ax.plot(reference['sigma'], reference['phi'], color='k', linestyle='--', linewidth=1,
        label=f"{reference['estimator'].iloc[0]} reference, exact")
ax.errorbar(table['sigma'], table['agreement'], yerr=2 * table['agreement_se'], fmt='o', color='C3', markersize=4,
            capsize=2, label=f"clone agreement, {int(table['pairs'].iloc[0])} pairs per level")
ax_diff.errorbar(table['sigma'], table['difference'], yerr=2 * table['difference_se'], fmt='o', color='C3',
                 markersize=4, capsize=2)
ax_diff.axhline(0, color='0.3', linewidth=1)
for a in (ax, ax_diff):
    if sigma_s is not None:
        plotting.mark_theory(a, sigma_s, label=r'$\sigma_S=\sqrt{\Lambda-1}$' if a is ax else None)
    a.set_xscale('log')
    a.set_xlabel(r'EDM noise level $\sigma$ of the branch point (data units)')
ax.set_ylabel(r'$\varphi$: probability that two clones agree')
ax_diff.set_ylabel('clone agreement − tracker (±2 SE)')
ax.legend(fontsize=7)
fig.suptitle(f'{model}: cloning (unconditional sampler, classified ends) against the tracked posterior', fontsize=11)
fig.tight_layout()
store.save_figure(fig, [snakemake.output.pdf, snakemake.output.png])
worst = table.loc[table['z'].abs().idxmax()]
log.info(f"largest difference in SE: sigma {worst['sigma']:.3g}, {worst['difference']:+.4f} +- {worst['difference_se']:.4f}")
