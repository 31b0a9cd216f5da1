"""Tables models_windows and models_quality: every trained model's windows against theory and its reference,
and the quality of its samples per run."""

import numpy as np
import pandas as pd

from entropic.files import curve_table, job_log, store

log = job_log.start(snakemake.log[0])
windows = pd.concat([pd.read_csv(p) for p in snakemake.input.windows], ignore_index=True)
windows = windows.rename(columns={'experiment': 'model'})
trajectories = curve_table.curve_counts(snakemake.input.curves)
# Windows in log sigma: the rate dH/dlog sigma of a tracked curve is well behaved at low noise, where
# dH/dsigma = rate / sigma magnifies the finite-difference noise of near-certain trajectories.
ls = windows.query("coordinate == 'log_sigma'").set_index(['model', 'partition', 'estimator'])
table = pd.DataFrame({
    'n': [trajectories[i] for i in ls.index],
    'Lambda': ls['Lambda'], 'sigma_S': np.exp(ls['theory']),
    'sigma_peak': np.exp(ls['peak']), 'sigma_peak_lo': np.exp(ls['peak_lo']), 'sigma_peak_hi': np.exp(ls['peak_hi']),
    'sigma_half': np.exp(ls['half_entropy']), 'sigma_half_lo': np.exp(ls['half_entropy_lo']),
    'sigma_half_hi': np.exp(ls['half_entropy_hi']),
    'fwhm_log_sigma': ls['width'], 'drop80_low': np.exp(ls['drop80_low']), 'drop80_high': np.exp(ls['drop80_high']),
    # Biroli et al.'s reading of the speciation point (where the clone agreement phi falls to 0.775), phi at sigma_S.
    'sigma_phi': np.exp(ls['phi_crossing']), 'sigma_phi_lo': np.exp(ls['phi_crossing_lo']),
    'sigma_phi_hi': np.exp(ls['phi_crossing_hi']), 'phi_sigma_S': ls['phi_at_theory'],
    'phi_sigma_S_lo': ls['phi_at_theory_lo'], 'phi_sigma_S_hi': ls['phi_at_theory_hi'],
}).reset_index()
store.write_csv(table, snakemake.output.windows_csv)


def ci(v, lo, hi):
    return f'{v:.3g} [{lo:.3g}, {hi:.3g}]'


store.write_markdown(pd.DataFrame({
    'model': table['model'], 'partition': table['partition'], 'estimator': table['estimator'], 'n': table['n'],
    'σ_S = √(Λ−1)': table['sigma_S'].map('{:.3g}'.format),
    'peak of dH/dlog σ, σ* (95% CI)': [ci(*v) for v in zip(table['sigma_peak'], table['sigma_peak_lo'], table['sigma_peak_hi'])],
    'σ at φ = 0.775 (95% CI)': [ci(*v) for v in zip(table['sigma_phi'], table['sigma_phi_lo'], table['sigma_phi_hi'])],
    'φ(σ_S)': table['phi_sigma_S'].map('{:.3f}'.format),
    'σ at half entropy (95% CI)': [ci(*v) for v in zip(table['sigma_half'], table['sigma_half_lo'], table['sigma_half_hi'])],
    'FWHM in log σ': table['fwhm_log_sigma'].map('{:.3f}'.format),
    '80% of the drop in σ': [f'[{lo:.3g}, {hi:.3g}]' for lo, hi in zip(table['drop80_low'], table['drop80_high'])],
}), snakemake.output.windows_md)

# Sample quality of the networks trained here (a pretrained model's needs its own feature network: issue 9).
quality = pd.concat([pd.read_csv(p) for p in snakemake.input.quality], ignore_index=True) if snakemake.input.quality else \
    pd.DataFrame(columns=['model', 'run', 'guidance', 'interval', 'samples', 'accuracy', 'near_copies'])
store.write_csv(quality, snakemake.output.quality_csv)
store.write_markdown(pd.DataFrame({
    'model': quality['model'], 'run': quality['run'], 'w': quality['guidance'], 'guided on': quality['interval'],
    'samples': quality['samples'], 'accuracy': quality['accuracy'].map('{:.2%}'.format),
    'near-copies': quality['near_copies'].map(lambda v: '' if np.isnan(v) else f'{v:.2%}'),
}), snakemake.output.quality_md)
log.info(f'{len(table)} windows, {len(quality)} runs')
