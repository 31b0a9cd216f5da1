"""Atomic writes and validated reads: what every pipeline script shares.

Every output is written to a temporary file beside its target and renamed into place only when
complete, so an interrupted or failed job never leaves a file that looks finished. Reads check what
the next stage relies on and name the file in the error.
"""

import contextlib
import json
import os
import pickle
import secrets
import zipfile
from pathlib import Path

import numpy as np

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
