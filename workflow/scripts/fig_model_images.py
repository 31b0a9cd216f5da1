"""Figure <model>_images: a model's decoded samples per hypothesis in play (unguided, and the strongest
guidance everywhere beside them), and the picture of speciation: the decoded x0 estimate D(x_sigma) along
unguided trajectories with the tracked posterior of each hypothesis beneath. Reads the images that rule
model_images decoded."""

import matplotlib.pyplot as plt
import numpy as np

from entropic.files import job_log, store
from entropic.pipeline import plotting

plotting.setup()
log = job_log.start(snakemake.log[0])
data = store.load_npz(snakemake.input.images)
runs, classes, names = [str(r) for r in data['runs']], data['classes'], data['names']
per_class = data[f'images/{runs[0]}'].shape[1]

# Left: samples per hypothesis; right: the snapshot trajectories.
columns = len(runs) * per_class
height = 1.1 * len(classes) + 1.2
fig = plt.figure(figsize=(1.1 * columns + 9, height))
# 0.8 in above the panels for the column titles and the figure title, 0.2 in below (not a fraction of the height)
grid = fig.add_gridspec(1, 2, width_ratios=[columns, 8], top=1 - 0.8 / height, bottom=0.2 / height)
left = grid[0].subgridspec(len(classes), columns, wspace=0.04, hspace=0.04)
for i, k in enumerate(classes):
    for j, run in enumerate(runs):
        images, count = data[f'images/{run}'][i], data[f'counts/{run}'][i]
        for m in range(per_class):
            ax = fig.add_subplot(left[i, j * per_class + m])
            ax.axis('off')
            if m < count:
                ax.imshow(images[m])
            if i == 0 and m == 0:
                ax.set_title(run, fontsize=8, loc='left')
    fig.axes[-per_class * len(runs)].text(-0.1, 0.5, f'{k}: {names[i]}', transform=fig.axes[-per_class * len(runs)].transAxes,
                                          ha='right', va='center', fontsize=7)

sigma, snapshots = data['snapshot_sigma'], data['snapshot_images']
trajectories, levels = snapshots.shape[:2]
# Image and posterior rows at the top, the rest of the column left empty (the left panel sets the height).
filler = max(0.1, len(classes) - 1.6 * trajectories)
right = grid[1].subgridspec(2 * trajectories + 1, levels, height_ratios=[1, 0.6] * trajectories + [filler], hspace=0.35)
label_names = dict(zip(classes.tolist(), names))
for t in range(trajectories):
    for j in range(levels):
        ax_img, ax_post = fig.add_subplot(right[2 * t, j]), fig.add_subplot(right[2 * t + 1, j])
        plotting.snapshot(ax_img, ax_post, snapshots[t, j], data['snapshot_posterior'][j, t],
                          title=rf'$\sigma$ = {sigma[j]:.2g}' if t == 0 else None, y_ticks=j == 0)
    label = int(data['snapshot_labels'][t])
    fig.axes[-2 * levels].set_ylabel('unconditional' if label < 0 else f'{label}:\n{label_names[label]}', fontsize=7)
fig.suptitle(f'{snakemake.wildcards.model}: decoded samples per hypothesis in play (left) and decoded x0 estimates '
             f'along unguided trajectories with the tracked posterior over the {len(classes)} hypotheses in play '
             '(right)', fontsize=9)
store.save_figure(fig, list(snakemake.output))
log.info(f'{len(classes)} hypotheses, runs {runs}, {trajectories} snapshot trajectories at sigma {np.round(sigma, 3).tolist()}')
