"""Figure and table gmm_flow_shift: where SD3's timestep shift puts a two-class mixture's entropy window relative
to the sampler's steps, at the latent sizes of 256^2 and 1024^2 images (entropic.studies.flow_shift)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from entropic.studies import flow_shift
from entropic.files import job_log, store
from entropic.theory import noise, closed_forms
from entropic.pipeline import plotting

plotting.setup()
log = job_log.start(snakemake.log[0])
study = snakemake.params.study
settings = dict(resolutions=study['resolutions'], latent_channels=study['latent_channels'],
                downsampling=study['downsampling'], shift=study['shift'], steps=study['steps'])
table = pd.DataFrame(flow_shift.shift_rows(signals_per_dim=study['signal_per_dim'], **settings),
                     columns=flow_shift.COLUMNS)
store.write_csv(table, snakemake.output.csv)
store.write_markdown(pd.DataFrame({
    'image (px)': table['resolution'].map(lambda r: f'{r}²'), 'latent': table['latent_shape'],
    '|m|²/d': table['signal_per_dim'].map('{:g}'.format), 'σ_S': table['sigma_S'].map('{:.4g}'.format),
    't_S': table['t_S'].map('{:.4f}'.format),
    'window σ (H: 90% → 10%)': [f'{a:.3g} – {b:.3g}' for a, b in zip(table['window_sigma_low'], table['window_sigma_high'])],
    'window t': [f'{a:.4f} – {b:.4f}' for a, b in zip(table['window_t_low'], table['window_t_high'])],
    'shift s': table['shift'].map('{:g}'.format), 'matching s': table['matching_shift'].map('{:.3g}'.format),
    'sampler u of t_S': table['sampler_t_S'].map('{:.4f}'.format),
    'window u': [f'{a:.4f} – {b:.4f}' for a, b in zip(table['sampler_window_low'], table['sampler_window_high'])],
    'steps in window': [f'{n} of {s}' for n, s in zip(table['steps_in_window'], table['steps'])],
    'share of sampler time': table['time_share'].map('{:.3f}'.format),
}), snakemake.output.md)
for row in table.itertuples():
    log.info(f'{row.resolution}^2 ({row.latent_shape}), |m|^2/d = {row.signal_per_dim:g}, shift {row.shift:g}: '
             f'sigma_S = {row.sigma_S:.4g}, t_S = {row.t_S:.4f} at sampler time u = {row.sampler_t_S:.4f}; '
             f'{row.steps_in_window} of {row.steps} steps in the window')

shifts = sorted(set(table['shift']))
colors = dict(zip(study['resolutions'], plotting.sequential_colors(len(study['resolutions']), 'deep')))
styles = {s: ('-' if s == 1 else '--') for s in shifts}
fig, (ax_h, ax_n) = plt.subplots(1, 2, figsize=(11.5, 4.4))

# (a) H[Z | X] against the sampler's time u for the shown signal, the grid's evaluation times as ticks.
signal = study['shown_signal_per_dim']
u = np.linspace(1, 0, 2001)[1:]
for resolution in study['resolutions']:
    mean_sq_norm = flow_shift.latent_dim(resolution, study['latent_channels'], study['downsampling']) * signal
    low, high = closed_forms.two_class_drop_interval(mean_sq_norm)
    for s in shifts:
        levels = flow_shift.evaluation_levels(s, study['steps'])
        sigma = noise.flow_time_to_sigma(noise.shift_flow_time(u, s))     # the level the sampler visits at u
        H = closed_forms.two_class_entropy(sigma, mean_sq_norm) / np.log(2)
        inside = levels[(levels >= low) & (levels <= high)]
        side = resolution // study['downsampling']
        ax_h.plot(u, H, color=colors[resolution], linestyle=styles[s],
                  label=f"{resolution}² ({study['latent_channels']}×{side}×{side}), shift {s:g}: "
                        f'{len(inside)} of {study["steps"]} steps in the window')
        ax_h.plot(flow_shift.sampler_time(inside, s), closed_forms.two_class_entropy(inside, mean_sq_norm) / np.log(2),
                  'o', color=colors[resolution], markersize=4)
grid_u = flow_shift.sampler_time(flow_shift.evaluation_levels(1.0, study['steps']), 1.0)
for x in grid_u:
    ax_h.axvline(x, color='0.85', linewidth=0.6, zorder=0)
ax_h.axhspan(0.1, 0.9, color='0.5', alpha=0.08, linewidth=0)
ax_h.set_xlim(1.0, 0.0)
ax_h.set_xlabel("sampler time $u$ (grey: the grid's steps; dots: steps inside the window)")
ax_h.set_ylabel(r'$H[Z \mid X] / \log 2$')
ax_h.set_title(f'two classes, $|m|^2/d$ = {signal:g}; window: $H$ from 90% to 10% (shaded)', fontsize=10)
ax_h.legend(fontsize=7, loc='center right')

# (b) steps inside the window against the assumed signal per dimension.
dense = np.geomspace(min(study['signal_per_dim']), max(study['signal_per_dim']), 61)
sweep = pd.DataFrame(flow_shift.shift_rows(signals_per_dim=dense, **settings))
for (resolution, s), rows in sweep.groupby(['resolution', 'shift']):
    ax_n.step(rows['signal_per_dim'], rows['steps_in_window'], where='mid', color=colors[resolution],
              linestyle=styles[s], label=f'{resolution}², shift {s:g}')
ax_n.axvline(signal, color='0.5', linestyle=':', linewidth=1)
ax_n.set_xscale('log')
ax_n.set_xlabel(r'assumed class signal per latent dimension $|m|^2 / d$')
ax_n.set_ylabel(f"steps (of {study['steps']}) evaluated inside the window")
matching = table['matching_shift'].max()
ax_n.set_title(f'this model asks for shift {matching:.3g} at {max(study["resolutions"])}² '
               r'($\sigma_S \propto \sqrt{d}$); ' f'SD3 uses {study["shift"]:g}', fontsize=10)
ax_n.legend(fontsize=8)
fig.suptitle("Rectified flow: the entropy window against the sampler's steps, unshifted and with SD3's timestep shift",
             fontsize=11)
fig.tight_layout()
store.save_figure(fig, [snakemake.output.pdf, snakemake.output.png])
