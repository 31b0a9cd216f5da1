"""Rule speciation: fit the speciation window of every partition's curve, with bootstrap CIs."""

import numpy as np
import pandas as pd

from entropic import io, speciation

log = io.job_logger(snakemake.log[0])
curves = io.read_curve(snakemake.input.curve)
partitions = io.read_json(snakemake.input.partitions)
settings = snakemake.params.settings
rng = np.random.default_rng([settings['seed'], 2])
estimator = snakemake.wildcards.estimator

rows = []
for part, curve in curves.groupby('partition', sort=False):
    sigma = curve['sigma'].to_numpy()
    arrays = io.load_npz(snakemake.input.samples, keys=[f'{part}/H', f'{part}/rate'])
    if arrays[f'{part}/H'].shape[0] != len(sigma):
        raise ValueError(f"{snakemake.input.samples}: {part}/H has {arrays[f'{part}/H'].shape[0]} levels, "
                         f'the curve {len(sigma)}')
    phi = arrays.get(f'{part}/phi')     # absent for I-MMSE (no posterior)
    for row in speciation.fit_windows(sigma, arrays[f'{part}/H'], arrays[f'{part}/rate'],
                                      top_eigenvalue=partitions[part]['Lambda'],
                                      num_boot=settings['bootstrap'], rng=rng, phi_samples=phi):
        rows.append(dict(experiment=snakemake.wildcards.name, partition=part, estimator=estimator,
                         Lambda=partitions[part]['Lambda'], **row))
        if row['coordinate'] == 't':
            log.info(f"{part}: VP peak t*={row['peak']:.3f} [{row['peak_lo']:.3f}, {row['peak_hi']:.3f}], "
                     f"FWHM {row['width']:.3f}, theory t_S={row['theory']:.3f}; phi = 0.775 at t={row['phi_crossing']:.3f}, "
                     f"phi(t_S)={row['phi_at_theory']:.3f}")

io.write_csv(pd.DataFrame(rows), snakemake.output[0])
