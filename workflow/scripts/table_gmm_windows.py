"""Table gmm_windows: the fitted window of every GMM experiment and partition against theory."""

import pandas as pd

from entropic.files import curve_table, job_log, store

log = job_log.start(snakemake.log[0])
windows = pd.concat([pd.read_csv(p) for p in snakemake.input.windows], ignore_index=True)
infos = {store.read_json(p)['name']: store.read_json(p) for p in snakemake.input.mixtures}
t = windows.query("coordinate == 't'").set_index(['experiment', 'partition', 'estimator'])
s = windows.query("coordinate == 'sigma'").set_index(['experiment', 'partition', 'estimator'])
counts = curve_table.curve_counts(snakemake.input.curves)
table = pd.DataFrame({
    'K': [infos[e]['num_components'] for e, _, _ in t.index],
    'd': [infos[e]['dim'] for e, _, _ in t.index],
    'n': [counts[i] for i in t.index],
    'Lambda': t['Lambda'],
    't_S': t['theory'], 't_peak': t['peak'], 't_peak_lo': t['peak_lo'], 't_peak_hi': t['peak_hi'],
    't_width': t['width'], 't_relative_width': t['relative_width'],
    'sigma_S': s['theory'], 'sigma_peak': s['peak'], 'sigma_peak_lo': s['peak_lo'], 'sigma_peak_hi': s['peak_hi'],
    'sigma_relative_width': s['relative_width'],
    # Biroli et al.'s reading of t_S (where the clone agreement phi falls to 0.775) and phi at t_S = 1/2 log Lambda.
    't_phi': t['phi_crossing'], 't_phi_lo': t['phi_crossing_lo'], 't_phi_hi': t['phi_crossing_hi'],
    'phi_t_S': t['phi_at_theory'], 'phi_t_S_lo': t['phi_at_theory_lo'], 'phi_t_S_hi': t['phi_at_theory_hi'],
}).reset_index()
store.write_csv(table, snakemake.output.csv)

def ci(v, lo, hi, digits):
    return f'{v:.{digits}g} [{lo:.{digits}g}, {hi:.{digits}g}]'

markdown = pd.DataFrame({
    'experiment': table['experiment'], 'partition': table['partition'], 'estimator': table['estimator'],
    'K': table['K'], 'd': table['d'], 'n': table['n'],
    't_S = ½ log Λ': table['t_S'].map('{:.3f}'.format),
    't* (95% CI)': [ci(v, lo, hi, 4) for v, lo, hi in zip(table['t_peak'], table['t_peak_lo'], table['t_peak_hi'])],
    't at φ = 0.775 (95% CI)': [ci(v, lo, hi, 4) for v, lo, hi in zip(table['t_phi'], table['t_phi_lo'], table['t_phi_hi'])],
    'φ(t_S)': table['phi_t_S'].map('{:.3f}'.format),
    'FWHM_t': table['t_width'].map('{:.3f}'.format),
    'FWHM_t / t*': table['t_relative_width'].map('{:.3f}'.format),
    'σ_S = √(Λ−1)': table['sigma_S'].map('{:.4g}'.format),
    'σ* (95% CI)': [ci(v, lo, hi, 4) for v, lo, hi in zip(table['sigma_peak'], table['sigma_peak_lo'], table['sigma_peak_hi'])],
    'FWHM_σ / σ*': table['sigma_relative_width'].map('{:.3f}'.format),
})
store.write_markdown(markdown, snakemake.output.md)
log.info(f'{len(table)} windows from {len(infos)} experiments')
