"""Atomic writes, validated reads and job logging: what every pipeline script shares.

Every output is written to a temporary file beside its target and renamed into place only when
complete, so an interrupted or failed job never leaves a file that looks finished. Reads check what
the next stage relies on and name the file in the error.
"""

import contextlib
import gc
import json
import logging
import os
import pickle
import secrets
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from . import noise

CURVE_COLUMNS = ['partition', 'estimator', 'readout', 'sigma', 't', 'log_snr', 'H', 'H_se', 'rate', 'rate_se', 'n',
                 'phi', 'phi_se']
NUMERIC_CURVE_COLUMNS = CURVE_COLUMNS[3:11]     # finite everywhere
COLLISION_COLUMNS = CURVE_COLUMNS[11:]          # finite, or NaN where the estimator has no posterior (I-MMSE)

#----------------------------------------------------------------------------

@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path` (same suffix); rename it to `path` if the block succeeds.

    The file gets the mode a plain open() would give it (0666 less the umask, or the folder's default ACL):
    it is created here with those bits, and writers that reopen an existing file keep them. (mkstemp would
    create it 0600, readable by its owner only.)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.with_name(f'.{path.name}.{secrets.token_hex(4)}{path.suffix}')
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:       # a leftover of a killed job under the same random name: draw again
            continue
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)

def write_csv(frame, path):
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format='%.10g')

def write_markdown(frame, path):
    with atomic_path(path) as tmp:
        tmp.write_text(frame.to_markdown(index=False) + '\n')

def write_json(obj, path):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2) + '\n')

NUMPY_PICKLE_GLOBALS = {      # what pickled numpy arrays refer to (numpy 1 and 2 module names)
    ('numpy', 'ndarray'): np.ndarray,
    ('numpy', 'dtype'): np.dtype,
    ('numpy.core.multiarray', '_reconstruct'): np._core.multiarray._reconstruct,
    ('numpy._core.multiarray', '_reconstruct'): np._core.multiarray._reconstruct,
    ('numpy.core.multiarray', 'scalar'): np._core.multiarray.scalar,
    ('numpy._core.multiarray', 'scalar'): np._core.multiarray.scalar,
}

class AllowlistUnpickler(pickle.Unpickler):
    """Unpickles only the globals of `allowed` ({(module, name): constructor}), so a pickle yields data and
    never runs code; anything else raises UnpicklingError naming the global and `what` was expected."""

    def __init__(self, file, allowed, what):
        super().__init__(file)
        self.allowed, self.what = allowed, what

    def find_class(self, module, name):
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f'refused: the pickle asks for {module}.{name}, which is not one of the '
                                         f'classes {self.what} uses') from None

def save_npy(array, path):
    with atomic_path(path) as tmp:
        np.save(tmp, array)

def save_npz(path, **arrays):
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)

FIGURE_METADATA = {'pdf': {'CreationDate': None}, 'svg': {'Date': None}}   # no write time: the same figure, the same bytes

def save_figure(fig, paths):
    """Save one matplotlib figure to every path (PDF, PNG, ...), deterministically: the PDF's CreationDate and
    the SVG's Date are left out (a PNG carries no time), so that a rerun on the same data gives the same bytes."""
    for path in paths:
        fmt = Path(path).suffix[1:]
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=200, bbox_inches='tight', metadata=FIGURE_METADATA.get(fmt))

#----------------------------------------------------------------------------

def read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f'{path}: cannot read JSON ({err})') from None

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

def load_npz(path, keys=()):
    try:
        data = dict(np.load(path))
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f'{path}: cannot read arrays ({err})') from None
    missing = [k for k in keys if k not in data]
    if missing:
        raise ValueError(f'{path}: missing arrays {missing}')
    return data

#----------------------------------------------------------------------------

def process_age():
    """Seconds since this process started (Linux: /proc, 10 ms resolution); None where /proc is absent."""
    try:
        start_ticks = int(Path('/proc/self/stat').read_text().rsplit(')', 1)[1].split()[19])
        uptime = float(Path('/proc/uptime').read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return uptime - start_ticks / os.sysconf('SC_CLK_TCK')

def job_logger(log_path, name='entropic'):
    """A logger that writes to the rule's log file (and stderr), with timestamps. Its first line gives the
    job's start-up: the seconds from the interpreter's start to this call (Snakemake's script preamble and
    the imports), which benchmarks/bench_default_run.py sums over jobs.

    It also moves every object that exists by then (those of the imports) out of the garbage collector's
    reach with gc.freeze, the standard library's tool for long-lived objects: the full collections of the
    interpreter's shutdown then skip them, 0.3-0.55 s of every job that imports torch, pandas and scipy,
    and so do the job's own full collections. Finalisers, atexit handlers and file closing run as before.

    An exception that ends the job is logged too, as its last line (`ERROR <type>: <message>`: the bad file
    or key and why), so the log Snakemake points to on failure holds the error; the traceback still goes
    to stderr."""
    age = process_age()
    gc.freeze()
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    fmt = logging.Formatter('%(asctime)s %(levelname)s %(message)s')
    log_file = logging.FileHandler(log_path, mode='w')
    for handler in (log_file, logging.StreamHandler()):
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    if age is not None:
        logger.info(f'start-up {age:.2f} s (interpreter start to the first log line: preamble and imports)')
    previous = sys.excepthook

    def log_the_error(kind, error, traceback):     # to the file alone: stderr gets the traceback, which ends alike
        log_file.handle(logger.makeRecord(name, logging.ERROR, '', 0, f'{kind.__name__}: {error}', None, None))
        previous(kind, error, traceback)

    sys.excepthook = log_the_error
    return logger

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

