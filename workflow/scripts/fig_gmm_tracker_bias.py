"""Figure gmm_tracker_bias: |bias| of the tracked entropy against the number of sampler steps."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from entropic.files import job_log, store
from entropic.pipeline import plotting

plotting.setup()
log = job_log.start(snakemake.log[0])
table = pd.read_csv(snakemake.input[0])
fig, ax = plt.subplots(figsize=(6, 4.2))
for (name, rows), color in zip(table.groupby('kernel', sort=False), plotting.sequential_colors(3, 'deep')):
    ax.errorbar(rows['steps'], rows['bias'].abs(), yerr=2 * rows['bias_se'], marker='o', capsize=3, color=color,
                label=name)
steps = np.array(sorted(table['steps'].unique()))
paper = table[table['kernel'].str.startswith('paper')].set_index('steps')['bias'].abs()
c = float(np.median(paper * paper.index))
ax.plot(steps, c / steps, color='0.5', linestyle='--', linewidth=1, label=f'{c:.1f} / N')
ax.set_xscale('log', base=2)
ax.set_yscale('log')
ax.set_xlabel('sampler steps N (EDM grid, ρ = 7)')
ax.set_ylabel('max |H_tracked − H_exact| over the curve (nats)')
ax.set_title(f"Tracker discretisation bias ({table['experiment'].iloc[0]}, "
             f"{int(table['trajectories'].iloc[0])} trajectories, bars ±2 SE)", fontsize=10)
ax.legend(fontsize=8)
fig.tight_layout()
store.save_figure(fig, list(snakemake.output))
log.info(f'paper kernel: bias ~ {c:.2f} / N')
