"""Figure and table <name>_schedules: quality against denoiser evaluations, one line per schedule with its 95%
interval over seeds as a band, and which schedule wins at each budget against EDM's grid (entropic.studies.schedule_study)."""

import matplotlib.pyplot as plt
from matplotlib.ticker import FixedFormatter, FixedLocator, MaxNLocator, NullLocator
import numpy as np
import pandas as pd

from entropic.files import job_log, store
from entropic.pipeline import plotting
from entropic.studies import schedule_study
from entropic.studies.schedule_study import EXACT, METRICS

plotting.setup()
log = job_log.start(snakemake.log[0])
frame = pd.concat([pd.read_csv(path) for path in snakemake.input.studies], ignore_index=True)
summary = schedule_study.compare(frame)
verdicts = schedule_study.verdicts(summary)
first = lambda column: verdicts[column].map({v: i for i, v in enumerate(dict.fromkeys(verdicts[column]))})
verdicts = verdicts.assign(_name=first('name'), _solver=first('solver')).sort_values(
    ['_name', 'guidance', '_solver', 'nfe'], kind='stable')          # grouped by row of panels, then by budget
store.write_csv(summary, snakemake.output.csv)

LABELS = {'edm': 'EDM (ρ = 7)', 'entropic': 'entropic time', 'rescaled': 'rescaled entropic time'}
label = lambda s: LABELS.get(s, s.replace('semantic-', 'semantic, λ = '))
fmt = lambda m, lo, hi: f'{m:.3g} [{lo:.3g}, {hi:.3g}]'
guided = verdicts['guidance'].nunique() > 1
md = pd.DataFrame({
    'name': verdicts['name'], 'solver': verdicts['solver'],
    **({'guidance w': verdicts['guidance'].map('{:g}'.format)} if guided else {}),
    'NFE': verdicts['nfe'], 'metric': verdicts['metric'],
    'best schedule': verdicts['best'].map(label),
    'its value (95% CI)': [fmt(r.mean, r.lo, r.hi) for r in verdicts.itertuples()],
    'EDM': verdicts['baseline_mean'].map('{:.3g}'.format),
    'gain over EDM (95% CI, paired)': [
        f'{r.gain:+.3g} [{r.gain_lo:+.3g}, {r.gain_hi:+.3g}]' + (f' ({label(r.rival)} vs EDM)' if r.best == 'edm' else '')
        for r in verdicts.itertuples()],
    'verdict': verdicts['verdict'],
})
store.write_markdown(md, snakemake.output.md)
for (name, solver, metric), rows in verdicts.groupby(['name', 'solver', 'metric'], sort=False):
    log.info(f'{name}, {solver}, {metric}: ' + ', '.join(f'NFE {r.nfe} {r.best} ({r.verdict})' for r in rows.itertuples()))

# One row of panels per experiment or model (and guidance scale), a column per metric of the row and solver
# (a network's unconditional samples have the histogram where its class-conditional ones have the accuracy). A
# panel is titled where its metric or solver differs from the panel above it; each schedule has its own colour,
# line style and marker, so that lines that coincide stay readable, and a panel where every grid gives the same
# values (to 1%) says so.
SOLVERS = {'heun': 'Heun (NFE = 2N − 1)', 'euler': 'Euler (NFE = N)'}
STYLES = [('-', 'o'), ('--', 's'), ('-.', '^'), ((0, (3, 1, 1, 1, 1, 1)), 'D'), ((0, (1, 1)), 'v'),
          ((0, (5, 2)), 'P'), ((0, (2, 2)), 'X')]
sampled = summary[summary['schedule'] != EXACT]
panels_rows = list(sampled.groupby(['name', 'guidance'], sort=False).groups)
solvers = list(sampled['solver'].unique())
metrics_of = {key: list(rows['metric'].unique()) for key, rows in sampled.groupby(['name', 'guidance'], sort=False)}
width = max(len(m) for m in metrics_of.values()) * len(solvers)
schedules = list(sampled['schedule'].unique())
colors = dict(zip(schedules, plotting.sequential_colors(len(schedules), 'deep')))
styles = {schedule: STYLES[i % len(STYLES)] for i, schedule in enumerate(schedules)}


def tick_label(value):
    """A y tick's label: plain digits from 0.001 to 9999, else a power of ten times 1, 2 or 5."""
    if 1e-3 <= abs(value) < 1e4:
        return f'{value:g}'
    exponent = int(np.floor(np.log10(value) + 1e-9))
    mantissa = value / 10.0 ** exponent
    return f'$10^{{{exponent}}}$' if round(mantissa) == 1 else f'${mantissa:.0f}\\times10^{{{exponent}}}$'


def log_ticks(ax):
    """Labelled ticks of a log y axis: its decades where it holds three or more (at most five, every k-th), else
    the 1-2-5 steps inside it, so that every panel has at least two labelled ticks, mostly three or more."""
    lo, hi = ax.get_ylim()
    powers = range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
    decades = [10.0 ** k for k in powers if lo <= 10.0 ** k <= hi]
    ticks = decades[::-(-len(decades) // 5)] if len(decades) >= 3 else \
        [m * 10.0 ** k for k in powers for m in (1, 2, 5) if lo <= m * 10.0 ** k <= hi]
    if len(ticks) < 2:      # less than a factor 2 between the limits: label them
        ticks = [lo, hi]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FixedFormatter([tick_label(t) for t in ticks]))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_ylim(lo, hi)


fig, axes = plt.subplots(len(panels_rows), width, figsize=(3.0 * width, 2.5 * len(panels_rows) + 0.8), squeeze=False)
above = {}
for i, (name, guidance) in enumerate(panels_rows):
    columns = [(m, s) for m in metrics_of[(name, guidance)] for s in solvers]
    for ax in axes[i, len(columns):]:
        ax.axis('off')
    for j, (metric, solver) in enumerate(columns):
        ax = axes[i, j]
        rows = sampled.query('name == @name and guidance == @guidance and metric == @metric and solver == @solver')
        lower = METRICS.get(metric, ('', True))[1]
        means = rows['mean'][np.isfinite(rows['mean'])]
        log_axis = lower and (means > 0).all() and means.max() > 10 * means.min()   # a log axis where it spans decades
        for k, schedule in enumerate(schedules):
            line = rows[rows['schedule'] == schedule].sort_values('nfe')
            if line.empty:
                continue
            linestyle, marker = styles[schedule]
            ax.plot(line['nfe'], line['mean'], color=colors[schedule], linestyle=linestyle, linewidth=1.4,
                    marker=marker, markersize=4.5 - 0.4 * k, markerfacecolor='none' if k % 2 else colors[schedule],
                    label=label(schedule), zorder=3 + k)
            lo = line['lo'].where(line['lo'] > 0, line['mean'] / 10) if log_axis else line['lo']   # clipped above 0
            ax.fill_between(line['nfe'], lo, line['hi'], color=colors[schedule], alpha=0.15, linewidth=0)
        spread = rows.groupby('nfe')['mean'].agg(lambda v: np.ptp(v) / max(np.abs(v).max(), 1e-300))
        if len(rows['schedule'].unique()) > 1 and (spread <= 0.01).all():     # lines drawn on top of each other
            ax.text(0.5, 0.97, 'all grids agree to 1%', transform=ax.transAxes, ha='center', va='top', fontsize=8,
                    color='0.25')
        floor = summary.query("name == @name and guidance == @guidance and metric == @metric and schedule == @EXACT")
        if len(floor) and floor['mean'].iloc[0] > 0:
            ax.axhline(floor['mean'].iloc[0], color='0.45', linestyle='-', linewidth=0.9, label='exact samples (floor)',
                       zorder=2)
        ax.set_xscale('log')
        if log_axis:
            ax.set_yscale('log')
            log_ticks(ax)
        else:
            ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.tick_params(axis='y', labelsize=8)
        nfes = sorted(rows['nfe'].unique())
        ax.set_xticks(nfes, [str(n) for n in nfes], fontsize=8)
        ax.xaxis.set_minor_locator(NullLocator())
        if j == 0:
            ax.set_ylabel(name.replace(', ', '\n') + (f'\nw = {guidance:g}' if guided else ''), fontsize=9.5)
        if above.get(j) != (metric, solver):
            ax.set_title(f'{METRICS.get(metric, (metric,))[0]}\n{SOLVERS.get(solver, solver)}', fontsize=9)
        above[j] = (metric, solver)
handles, names = axes[0, 0].get_legend_handles_labels()
fig.legend(handles, names, loc='upper center', ncol=len(names), fontsize=9, bbox_to_anchor=(0.5, 0.985 - 0.25 / fig.get_figheight()),
           handlelength=3.5)
fig.supxlabel('denoiser evaluations per sample (NFE)', fontsize=10)
fig.suptitle(f'{snakemake.params.title}: sample quality against evaluations, one line per schedule '
             f'(bands: 95% intervals over seeds; lower is better for KL and FD, higher for accuracy)', fontsize=11)
fig.tight_layout(rect=(0, 0, 1, 1 - 0.55 / fig.get_figheight()))
store.save_figure(fig, [snakemake.output.pdf, snakemake.output.png])
