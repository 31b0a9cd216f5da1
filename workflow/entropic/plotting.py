"""Figure style shared by every figure script: readable fonts, colour scales, theory and window marks."""

import itertools

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.rcsetup import cycler  # noqa: E402

# The house style is seaborn's theme (Waskom 2021, JOSS 6(60):3021) `set_theme(context='paper',
# style='whitegrid', font_scale=1.1)` written out as the rcParams and colour codes it sets, so that a figure job
# does not import seaborn (about a second per job); tests/test_plotting.py checks them against seaborn's.
DEEP = ['#4C72B0', '#DD8452', '#55A868', '#C44E52', '#8172B3', '#937860', '#DA8BC3', '#8C8C8C', '#CCB974', '#64B5CD']
COLOR_CODES = dict(zip('bgrmyck', [to_rgb(c) for c in ['#4C72B0', '#55A868', '#C44E52', '#8172B3', '#CCB974',
                                                        '#64B5CD']] + [(0.1, 0.1, 0.1)]))
QUALITATIVE = {'tab10': 10, 'tab20': 20, 'tab20b': 20, 'tab20c': 20, 'Set1': 9, 'Set2': 8, 'Set3': 12,
               'Accent': 8, 'Paired': 12, 'Pastel1': 9, 'Pastel2': 8, 'Dark2': 8}   # matplotlib's, colours each
HOUSE_STYLE = {
    'axes.axisbelow': True, 'axes.edgecolor': '.8', 'axes.grid': True, 'axes.labelcolor': '.15',
    'axes.labelsize': 10.560000000000002, 'axes.linewidth': 1.0, 'axes.prop_cycle': cycler('color', [to_rgb(c) for c in DEEP]),
    'axes.titlesize': 10.560000000000002,
    'font.sans-serif': ['Arial', 'DejaVu Sans', 'Liberation Sans', 'Bitstream Vera Sans', 'sans-serif'],
    'font.size': 10.560000000000002, 'grid.color': '.8', 'legend.fontsize': 9.680000000000001,
    'legend.title_fontsize': 10.560000000000002, 'lines.linewidth': 1.2000000000000002,
    'lines.markersize': 4.800000000000001, 'lines.solid_capstyle': 'round', 'patch.edgecolor': 'w',
    'patch.force_edgecolor': True, 'patch.linewidth': 0.8, 'text.color': '.15', 'xtick.bottom': False,
    'xtick.color': '.15', 'xtick.labelsize': 9.680000000000001, 'xtick.major.size': 4.800000000000001,
    'xtick.major.width': 1.0, 'xtick.minor.size': 3.2, 'xtick.minor.width': 0.8, 'ytick.color': '.15',
    'ytick.labelsize': 9.680000000000001, 'ytick.left': False, 'ytick.major.size': 4.800000000000001,
    'ytick.major.width': 1.0, 'ytick.minor.size': 3.2, 'ytick.minor.width': 0.8,
}

RATE_LABELS = {   # axis labels of the entropy rate in each coordinate of speciation.COORDINATES
    't': r'$|dH/dt|$ (nats per unit VP time)',
    'sigma': r'$dH/d\sigma$ (nats per unit $\sigma$)',
    'log_sigma': r'$dH/d\log\sigma$ (nats)',
    'flow_t': r'$dH/dt$ (nats per unit flow time)',
}

#----------------------------------------------------------------------------

def setup():
    """The house style: white grid, 9-pt fonts, no top/right spines (HOUSE_STYLE, seaborn's colour codes)."""
    plt.rcParams.update(HOUSE_STYLE)
    for code, rgb in COLOR_CODES.items():
        matplotlib.colors.colorConverter.colors[code] = rgb
    plt.rcParams.update({'figure.dpi': 120, 'axes.spines.top': False, 'axes.spines.right': False,
                         'legend.frameon': False})

def sequential_colors(n, palette='viridis'):
    """n RGB tuples of a palette, as seaborn's color_palette(palette, n) gives them: 'deep' (seaborn's, DEEP),
    a qualitative matplotlib colormap's first colours, or n evenly spaced inner points of any other colormap;
    cycled when n exceeds the palette."""
    if palette == 'deep':
        colors = DEEP
    else:
        cmap = matplotlib.colormaps[palette]
        bins = np.linspace(0, 1, QUALITATIVE[palette])[:n] if palette in QUALITATIVE else np.linspace(0, 1, n + 2)[1:-1]
        colors = list(map(tuple, cmap(bins)[:, :3]))
    return [to_rgb(c) for c in itertools.islice(itertools.cycle(colors), n)]

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
