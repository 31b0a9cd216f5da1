"""Figure and table <name>_schedules: quality against denoiser evaluations, one line per schedule with its 95%
interval over seeds as a band, and which schedule wins at each budget against EDM's grid (entropic.schedule_study)."""

import matplotlib.pyplot as plt
from matplotlib.ticker import LogLocator, NullLocator
import numpy as np
import pandas as pd

from entropic import io, plotting, schedule_study
from entropic.schedule_study import EXACT, METRICS

plotting.setup()
log = io.job_logger(snakemake.log[0])
frame = pd.concat([pd.read_csv(path) for path in snakemake.input.studies], ignore_index=True)
summary = schedule_study.compare(frame)
verdicts = schedule_study.verdicts(summary)
first = lambda column: verdicts[column].map({v: i for i, v in enumerate(dict.fromkeys(verdicts[column]))})
verdicts = verdicts.assign(_name=first('name'), _solver=first('solver')).sort_values(
    ['_name', 'guidance', '_solver', 'nfe'], kind='stable')          # grouped by row of panels, then by budget
io.write_csv(summary, snakemake.output.csv)

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
io.write_markdown(md, snakemake.output.md)
for (name, solver, metric), rows in verdicts.groupby(['name', 'solver', 'metric'], sort=False):
    log.info(f'{name}, {solver}, {metric}: ' + ', '.join(f'NFE {r.nfe} {r.best} ({r.verdict})' for r in rows.itertuples()))

# One row of panels per experiment or model (and guidance scale), a column per metric of the row and solver
# (a network's unconditional samples have the histogram where its class-conditional ones have the accuracy).
sampled = summary[summary['schedule'] != EXACT]
panels_rows = list(sampled.groupby(['name', 'guidance'], sort=False).groups)
solvers = list(sampled['solver'].unique())
metrics_of = {key: list(rows['metric'].unique()) for key, rows in sampled.groupby(['name', 'guidance'], sort=False)}
width = max(len(m) for m in metrics_of.values()) * len(solvers)
schedules = list(sampled['schedule'].unique())
colors = dict(zip(schedules, plotting.sequential_colors(len(schedules), 'deep')))
fig, axes = plt.subplots(len(panels_rows), width, figsize=(2.5 * width, 2.2 * len(panels_rows)), squeeze=False)
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
        for schedule in schedules:
            line = rows[rows['schedule'] == schedule].sort_values('nfe')
            if line.empty:
                continue
            ax.plot(line['nfe'], line['mean'], marker='o', markersize=3, color=colors[schedule], label=label(schedule))
            lo = line['lo'].where(line['lo'] > 0, line['mean'] / 10) if log_axis else line['lo']   # clipped above 0
            ax.fill_between(line['nfe'], lo, line['hi'], color=colors[schedule], alpha=0.2, linewidth=0)
        floor = summary.query("name == @name and guidance == @guidance and metric == @metric and schedule == @EXACT")
        if len(floor) and floor['mean'].iloc[0] > 0:
            ax.axhline(floor['mean'].iloc[0], color='0.4', linestyle=':', linewidth=1, label='exact samples')
        ax.set_xscale('log')
        if log_axis:
            ax.set_yscale('log')
            ax.yaxis.set_major_locator(LogLocator(numticks=5))      # few labels: text is most of the drawing time
            ax.yaxis.set_minor_locator(NullLocator())
        nfes = sorted(rows['nfe'].unique())
        ax.set_xticks(nfes, [str(n) for n in nfes], fontsize=7)
        ax.xaxis.set_minor_locator(NullLocator())
        if j == 0:
            ax.set_ylabel(name.replace(', ', '\n') + (f'\nw = {guidance:g}' if guided else ''), fontsize=8)
        ax.set_title(f'{METRICS.get(metric, (metric,))[0]}\n{solver}', fontsize=7.5)
handles, names = axes[0, 0].get_legend_handles_labels()
fig.legend(handles, names, loc='lower center', ncol=len(names), fontsize=8, bbox_to_anchor=(0.5, 0))
fig.supxlabel('denoiser evaluations per sample (NFE; Heun: 2N − 1 over N intervals, Euler: N)', fontsize=9, y=0.045)
fig.suptitle(f'{snakemake.params.title}: sample quality against evaluations, one line per schedule '
             f'(bands: 95% intervals over seeds; lower is better for KL and FD, higher for accuracy)', fontsize=10)
fig.tight_layout(rect=(0, 0.06, 1, 0.98))
io.save_figure(fig, [snakemake.output.pdf, snakemake.output.png])
