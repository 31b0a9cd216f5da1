"""Figure <model>_images: a pretrained model's decoded samples per class or prompt in play (unguided, and
the strongest guidance everywhere beside them), and the picture of speciation: the decoded x0 estimate
D(x_sigma) along unguided trajectories with the tracked posterior of each hypothesis beneath.
EDM2 latents are decoded by the SD VAE with EDM2's scaling, SD1.5 latents by the pipeline's own VAE."""

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.special import softmax

from entropic import imagenet, io, plotting, trained
from entropic.models import sd15

plotting.setup()
log = io.job_logger(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
runs, per_class = snakemake.params.runs, snakemake.params.per_class
decode = trained.load_decoder(snakemake.params.backend, snakemake.params.vae)
names = (sd15.read_prompt_file(snakemake.input.prompts)[0] if snakemake.params.backend == 'sd15'
         else imagenet.class_names())
unguided = io.load_npz(snakemake.input.samples[0], keys=['x', 'labels', 'hypotheses', 'sigma', 'denoised',
                                                          'snapshot_labels', 'snapshot_log_posterior'])
classes = [int(h) for h in unguided['hypotheses'] if h >= 0]
shown = [(run, io.load_npz(path, keys=['x', 'labels'])) for run, path in zip(runs, snakemake.input.samples)]

def first_of(sample, label, n):
    return sample['x'][np.flatnonzero(sample['labels'] == label)[:n]]

# Left: samples per class; right: the snapshot trajectories.
columns = len(shown) * per_class
fig = plt.figure(figsize=(1.1 * columns + 9, 1.1 * len(classes) + 1.2))
grid = fig.add_gridspec(1, 2, width_ratios=[columns, 8])
left = grid[0].subgridspec(len(classes), columns, wspace=0.04, hspace=0.04)
for i, k in enumerate(classes):
    for j, (run, sample) in enumerate(shown):
        latents = first_of(sample, k, per_class)
        images = decode(latents) if len(latents) else []
        for m in range(per_class):
            ax = fig.add_subplot(left[i, j * per_class + m])
            ax.axis('off')
            if m < len(images):
                ax.imshow(images[m])
            if i == 0 and m == 0:
                ax.set_title(run, fontsize=8, loc='left')
    fig.axes[-per_class * len(shown)].text(-0.1, 0.5, f'{k}: {names[k]}', transform=fig.axes[-per_class * len(shown)].transAxes,
                                           ha='right', va='center', fontsize=7)

sigma = unguided['sigma']                                     # increasing
levels = np.unique(np.linspace(len(sigma) - 1, 0, 8).round().astype(int))[::-1]
trajectories = len(unguided['snapshot_labels'])
# Image and posterior rows at the top, the rest of the column left empty (the left panel sets the height).
filler = max(0.1, len(classes) - 1.6 * trajectories)
right = grid[1].subgridspec(2 * trajectories + 1, len(levels), height_ratios=[1, 0.6] * trajectories + [filler],
                            hspace=0.35)
in_play = unguided['hypotheses'] >= 0
for t in range(trajectories):
    estimates = decode(unguided['denoised'][levels, t])
    for j, level in enumerate(levels):
        ax_img, ax_post = fig.add_subplot(right[2 * t, j]), fig.add_subplot(right[2 * t + 1, j])
        plotting.snapshot(ax_img, ax_post, estimates[j], softmax(unguided['snapshot_log_posterior'][level, t][in_play]),
                          title=rf'$\sigma$ = {sigma[level]:.2g}' if t == 0 else None, y_ticks=j == 0)
    label = int(unguided['snapshot_labels'][t])
    fig.axes[-2 * len(levels)].set_ylabel('unconditional' if label < 0 else f'{label}:\n{names[label]}', fontsize=7)
fig.suptitle(f'{snakemake.wildcards.model}: decoded samples per hypothesis in play (left) and decoded x0 estimates along '
             f'unguided trajectories with the tracked posterior over the {in_play.sum()} hypotheses in play (right)', fontsize=9)
io.save_figure(fig, list(snakemake.output))
log.info(f'{len(classes)} classes, runs {runs}, {trajectories} snapshot trajectories at sigma {np.round(sigma[levels], 3).tolist()}')
