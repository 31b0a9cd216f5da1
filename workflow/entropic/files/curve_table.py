"""The entropy-curve table: one tidy CSV per curve file (CURVE_COLUMNS), with the per-trajectory values beside
it in an npz for the window bootstrap. Every estimator (exact, tracker, I-MMSE, combined) writes it, and every
window fit, figure and table reads it.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from entropic.files.store import atomic_path, save_npz, write_csv
from entropic.theory import noise

CURVE_COLUMNS = ['partition', 'estimator', 'readout', 'sigma', 't', 'log_snr', 'H', 'H_se', 'rate', 'rate_se', 'n',
                 'phi', 'phi_se']
NUMERIC_CURVE_COLUMNS = CURVE_COLUMNS[3:11]     # finite everywhere
COLLISION_COLUMNS = CURVE_COLUMNS[11:]          # finite, or NaN where the estimator has no posterior (I-MMSE)

#----------------------------------------------------------------------------

def read_curve(path):
    """A tidy entropy curve (CURVE_COLUMNS), checked for missing columns and non-finite values (NaN is allowed
    in the collision columns phi, phi_se of an estimator that has no posterior)."""
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(f'{path}: cannot read curve CSV ({err})') from None
    missing = [c for c in CURVE_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f'{path}: missing columns {missing}; a curve has {CURVE_COLUMNS}')
    numeric = frame[NUMERIC_CURVE_COLUMNS]
    if not np.isfinite(numeric.to_numpy(dtype=np.float64)).all():
        bad = numeric.columns[~np.isfinite(numeric.to_numpy(dtype=np.float64)).all(0)].tolist()
        raise ValueError(f'{path}: NaN or inf in columns {bad}')
    collision = frame[COLLISION_COLUMNS].to_numpy(dtype=np.float64)
    if np.isinf(collision).any():
        raise ValueError(f'{path}: inf in columns {COLLISION_COLUMNS}')
    return frame

def curve_counts(paths):
    """{(name, partition, estimator): n at the first level} of curve CSVs at results/<track>/<name>/entropy/: the
    trajectories (tracker), samples (I-MMSE) or evaluations (exact) behind each curve."""
    counts = {}
    for path in paths:
        for (part, estimator), c in read_curve(path).groupby(['partition', 'estimator']):
            counts[(Path(path).parts[-3], part, estimator)] = int(c['n'].iloc[0])
    return counts

def curve_frame(partition, estimator, readout, sigmas, curve):
    """Rows of the tidy curve CSV for one partition from a curve dict (exact.exact_entropy_curve's layout)."""
    sigmas = np.asarray(sigmas, dtype=np.float64)
    return pd.DataFrame(dict(partition=partition, estimator=estimator, readout=readout, sigma=sigmas,
                             t=noise.sigma_to_vp_time(sigmas), log_snr=noise.sigma_to_log_snr(sigmas),
                             **{k: curve[k] for k in ('H', 'H_se', 'rate', 'rate_se', 'n', 'phi', 'phi_se')}))

def write_curves(curves, estimator, readout, sigmas, curve_path, samples_path):
    """Write {partition: curve dict} as the tidy curve CSV and, beside it, the npz of the per-trajectory (or
    per-replicate) values `<partition>/H`, `<partition>/rate` and, where the curve has them, `<partition>/phi`
    that the window bootstrap resamples."""
    frames = [curve_frame(part, estimator, readout, sigmas, curve) for part, curve in curves.items()]
    write_csv(pd.concat(frames, ignore_index=True), curve_path)
    arrays = {f'{part}/{key}': curve[f'{key}_samples'] for part, curve in curves.items() for key in ('H', 'rate', 'phi')
              if f'{key}_samples' in curve}
    save_npz(samples_path, sigma=np.asarray(sigmas, dtype=np.float64), **arrays)

def write_partition_rows(source, partition, target):
    """Copy the rows of one partition of a table with a `partition` column (a curve CSV, a windows CSV) from
    `source` to `target`, their text unchanged: a file whose bytes change only when that partition's rows do
    (Snakemake then leaves alone what reads it when other partitions change; rule placing_window). ValueError
    naming the file and the partitions it has where `partition` has no row."""
    try:
        frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(f'{source}: cannot read the table ({err})') from None
    if 'partition' not in frame.columns:
        raise ValueError(f'{source}: no partition column; columns {list(frame.columns)}')
    rows = frame[frame['partition'] == partition]
    if rows.empty:
        raise ValueError(f'{source} has no row of partition {partition!r}; it has {sorted(set(frame["partition"]))}')
    with atomic_path(target) as tmp:
        rows.to_csv(tmp, index=False)
