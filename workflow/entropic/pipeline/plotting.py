"""Figure style shared by every figure script: readable fonts, colour scales, theory and window marks."""

import math

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

RATE_LABELS = {   # axis labels of the entropy rate in each coordinate of speciation.COORDINATES
    't': r'$|dH/dt|$ (nats per unit VP time)',
    'sigma': r'$dH/d\sigma$ (nats per unit $\sigma$)',
    'log_sigma': r'$dH/d\log\sigma$ (nats)',
    'flow_t': r'$dH/dt$ (nats per unit flow time)',
}

#----------------------------------------------------------------------------

def setup():
    """The house style: white grid, 9-pt fonts, no top/right spines."""
    sns.set_theme(context='paper', style='whitegrid', font_scale=1.1)
    plt.rcParams.update({'figure.dpi': 120, 'axes.spines.top': False, 'axes.spines.right': False,
                         'legend.frameon': False})

def sequential_colors(n, palette='viridis'):
    return sns.color_palette(palette, n)

def mark_theory(ax, x, color='0.3', label=None):
    """A dashed vertical line at a theory value (e.g. t_S = 1/2 log Lambda)."""
    ax.axvline(x, color=color, linestyle='--', linewidth=1, label=label)

def mark_window(ax, low, high, color, label=None):
    """A shaded band over a fitted window (e.g. the full width at half maximum)."""
    if np.isfinite(low) and np.isfinite(high):
        ax.axvspan(low, high, color=color, alpha=0.12, linewidth=0, label=label)

def band(ax, x, y, se, color, label=None, **kwargs):
    """A curve with a +-2 standard-error band."""
    ax.plot(x, y, color=color, label=label, **kwargs)
    ax.fill_between(x, y - 2 * se, y + 2 * se, color=color, alpha=0.25, linewidth=0)

def pixel_image(x):
    """One sample that is pixels in [-1, 1] as an array imshow draws, clipped: a flat sample of h * h pixels (the
    digits' 64) as an h x h grey image and [1, H, W] as [H, W], both in [-1, 1]; [3, H, W] as RGB [H, W, 3] in
    [0, 1]. ValueError naming the shape otherwise: latents become images through their backend's decoder (the
    `images` figure, entropic.backends.base)."""
    x = np.clip(np.asarray(x), -1, 1)
    side = math.isqrt(x.size) if x.ndim == 1 else 0
    if x.ndim == 1 and side * side == x.size:
        return x.reshape(side, side)
    if x.ndim == 3 and x.shape[0] == 1:
        return x[0]
    if x.ndim == 3 and x.shape[0] == 3:
        return (x.transpose(1, 2, 0) + 1) / 2
    raise ValueError(f'samples of shape {x.shape} are not pixels (h * h values, or [C, H, W] with C = 1 or 3); a '
                     "model whose samples are latents shows them decoded, in the `images` figure")

def snapshot(ax_img, ax_post, image, posterior, title=None, y_ticks=False, hypothesis_ticks=False, **imshow):
    """The picture of speciation at one noise level: an x0 estimate above the tracked posterior over the
    hypotheses in play."""
    ax_img.imshow(image, **imshow)
    ax_img.set_xticks([])
    ax_img.set_yticks([])
    ax_img.grid(False)
    if title:
        ax_img.set_title(title, fontsize=8)
    ax_post.bar(np.arange(len(posterior)), posterior, color=sequential_colors(1, 'deep')[0])
    ax_post.set_ylim(0, 1)
    ax_post.set_xticks(range(len(posterior)) if hypothesis_ticks else [])
    ax_post.tick_params(labelsize=5)
    ax_post.set_yticks([0, 1] if y_ticks else [])
