"""Rules speciation_*: fit the speciation window of every partition's curve of one experiment or model (each of
its estimators, one window file each), with bootstrap CIs."""

import numpy as np
import pandas as pd

from entropic.files import curve_table, job_log, store
from entropic.method import speciation

log = job_log.start(snakemake.log[0])
partitions = store.read_json(snakemake.input.partitions)
settings, name = snakemake.params.settings, snakemake.params.name

for estimator, curve_path, samples_path, output in zip(snakemake.params.estimators, snakemake.input.curves,
                                                       snakemake.input.samples, snakemake.output):
    curves = curve_table.read_curve(curve_path)
    rng = np.random.default_rng([settings['seed'], 2])    # each curve's bootstrap from the same stream, as if alone
    rows = []
    for part, curve in curves.groupby('partition', sort=False):
        sigma = curve['sigma'].to_numpy()
        arrays = store.load_npz(samples_path, keys=[f'{part}/H', f'{part}/rate'])
        if arrays[f'{part}/H'].shape[0] != len(sigma):
            raise ValueError(f"{samples_path}: {part}/H has {arrays[f'{part}/H'].shape[0]} levels, "
                             f'the curve {len(sigma)}')
        phi = arrays.get(f'{part}/phi')     # absent for I-MMSE (no posterior)
        for row in speciation.fit_windows(sigma, arrays[f'{part}/H'], arrays[f'{part}/rate'],
                                          top_eigenvalue=partitions[part]['Lambda'],
                                          num_boot=settings['bootstrap'], rng=rng, phi_samples=phi):
            rows.append(dict(experiment=name, partition=part, estimator=estimator,
                             Lambda=partitions[part]['Lambda'], **row))
            if row['coordinate'] == 't':
                log.info(f"{estimator} {part}: VP peak t*={row['peak']:.3f} [{row['peak_lo']:.3f}, {row['peak_hi']:.3f}], "
                         f"FWHM {row['width']:.3f}, theory t_S={row['theory']:.3f}; phi = 0.775 at "
                         f"t={row['phi_crossing']:.3f}, phi(t_S)={row['phi_at_theory']:.3f}")
    store.write_csv(pd.DataFrame(rows), output)
