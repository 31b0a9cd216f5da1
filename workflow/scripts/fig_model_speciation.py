"""Figure <model>_speciation: the picture of speciation. For a few unguided trajectories, the x0 estimate
D(x_sigma) at noise levels across the window, and beside each the tracked class posterior p(k | x_sigma):
the image commits to a class where the posterior concentrates."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.special import softmax

from entropic.files import job_log, store
from entropic.pipeline import plotting

plotting.setup()
log = job_log.start(snakemake.log[0])
data = store.load_npz(snakemake.input.samples, keys=['denoised', 'snapshot_labels', 'snapshot_log_posterior', 'sigma',
                                                   'hypotheses'])
window = pd.read_csv(snakemake.input.windows).query("partition == 'classes' and coordinate == 'log_sigma'").iloc[0]
sigma = data['sigma']                                          # increasing
classes = data['hypotheses'] >= 0
columns = 8
# Noise levels from well above the window to well below it, log-uniform.
centre = window['peak']
wanted = np.exp(np.linspace(centre + 2.0, centre - 2.5, columns))
levels = [int(np.argmin(np.abs(np.log(sigma) - np.log(s)))) for s in wanted]
trajectories = len(data['snapshot_labels'])

fig, axes = plt.subplots(2 * trajectories, columns, figsize=(1.35 * columns, 2.5 * trajectories),
                         gridspec_kw=dict(height_ratios=[1.6, 1] * trajectories))
for t in range(trajectories):
    for j, level in enumerate(levels):
        ax_img, ax_post = axes[2 * t, j], axes[2 * t + 1, j]
        plotting.snapshot(ax_img, ax_post, plotting.pixel_image(data['denoised'][level, t]),
                          softmax(data['snapshot_log_posterior'][level, t][classes]),
                          title=rf'$\sigma$ = {sigma[level]:.2g}' if t == 0 else None, y_ticks=j == 0,
                          hypothesis_ticks=True, cmap='gray_r', vmin=-1, vmax=1)
        if j == 0:
            ax_img.set_ylabel(f"drawn as {int(data['snapshot_labels'][t])}", fontsize=8)
fig.suptitle(f'{snakemake.wildcards.model}: x0 estimates along unguided trajectories and the tracked class posterior '
             f"p(k | x_σ) (classes window peak at σ = {np.exp(centre):.2g})", fontsize=10)
fig.tight_layout()
store.save_figure(fig, list(snakemake.output))
log.info(f'{trajectories} trajectories at sigma {np.round(sigma[levels], 3).tolist()}')
