"""Figure <model>_samples: generated digits, ten per class, for the unguided run and the strongest
guidance everywhere, with the accuracy of a classifier trained on real digits; and the training loss."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from entropic.files import job_log, store
from entropic.pipeline import plotting
from entropic.method.runs import model_runs, shown_runs

plotting.setup()
log = job_log.start(snakemake.log[0])
runs = model_runs({'runs': snakemake.params.runs})
quality = pd.read_csv(snakemake.input.quality).set_index('run')
losses = pd.read_csv(snakemake.input.losses)
shown = shown_runs(runs)       # unguided, and the strongest guidance applied at every noise level (if any)
per_class = 10
classes = np.unique(store.load_npz(snakemake.input.samples[0], keys=['labels'])['labels'])
classes = classes[classes >= 0]         # the classes in play, without the unconditional trajectories


def grid(x, labels):
    """Ten samples of each class as one image: classes down, samples across; square grey images, pixels in [-1, 1]."""
    h = w = math.isqrt(x.shape[1])
    if h * w != x.shape[1]:
        raise ValueError(f'{x.shape[1]} pixels are not a square image')
    image = -np.ones((len(classes) * (h + 1), per_class * (w + 1)))     # -1: white gaps between images
    for i, k in enumerate(classes):
        for j, sample in enumerate(x[labels == k][:per_class]):
            image[i * (h + 1):i * (h + 1) + h, j * (w + 1):j * (w + 1) + w] = sample.reshape(h, w)
    return image


fig, axes = plt.subplots(1, len(shown) + 1, figsize=(4.2 * (len(shown) + 1), 4.4),
                         gridspec_kw=dict(width_ratios=[1] * len(shown) + [1.2]))
for ax, name in zip(axes, shown):
    generated = store.load_npz(snakemake.input.samples[list(runs).index(name)], keys=['x', 'labels'])
    ax.imshow(grid(np.clip(generated['x'], -1, 1), generated['labels']), cmap='gray_r', vmin=-1, vmax=1)
    q = quality.loc[name]
    ax.set_title(f"{name} (w = {q['guidance']:g}): classifier accuracy {q['accuracy']:.1%}\n"
                 f"on {int(q['samples'])} samples; near-copies {q['near_copies']:.1%}", fontsize=9)
    side = math.isqrt(generated['x'].shape[1]) + 1
    ax.set_yticks(np.arange(len(classes)) * side + (side - 2) / 2, labels=classes)
    ax.set_xticks([])
    ax.set_ylabel('class')
    ax.grid(False)
ax = axes[-1]
smooth = losses['loss'].rolling(max(1, len(losses) // 100), min_periods=1).mean()
ax.plot(losses['step'], losses['loss'], color='0.8', linewidth=0.5, label='per step')
ax.plot(losses['step'], smooth, color='C0', label='running mean')
ax.set_yscale('log')
ax.set_xlabel('training step')
ax.set_ylabel('EDM loss (weighted MSE)')
ax.set_title('training loss', fontsize=9)
ax.legend(fontsize=7)
fig.suptitle(f'{snakemake.wildcards.model}: generated samples (ten per class) and training', fontsize=11)
fig.tight_layout()
store.save_figure(fig, list(snakemake.output))
log.info(f"shown runs {shown}; final running loss {smooth.iloc[-1]:.4f}")
