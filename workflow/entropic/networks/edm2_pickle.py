"""Reading NVlabs' EDM2 network pickles into our network (entropic.networks.edm2_unet) without running them.

NVlabs' pickles (NVlabs/edm2 training/training_loop.py, torch_utils/persistence.py) embed their source code
and `exec` it on load; we never do: `load_network` reads the pickle with an allowlist of plain data
constructors (tensors, arrays, dicts) and takes only the recorded constructor arguments and weights of its
`ema` network (see `read_pickle`), which our Precond must take strictly.
"""

import io
import pickle

import torch

from entropic.files.store import NUMPY_PICKLE_GLOBALS, AllowlistUnpickler
from entropic.networks.edm2_unet import Precond

#----------------------------------------------------------------------------
# Reading NVlabs pickles without running their code.

class PersistentRecord:
    """What a persistent object of an EDM2 pickle holds: its class name and recorded state. The embedded
    module source is kept as text and never executed."""

    def __init__(self, meta):
        if not isinstance(meta, dict) or meta.get('type') != 'class' or not isinstance(meta.get('state'), dict):
            raise pickle.UnpicklingError('malformed persistent-object record')
        self.class_name = str(meta.get('class_name'))
        self.state = meta['state']

class ModuleRecord:
    """The state of a plain torch container module (ModuleDict) inside the pickle."""

    def __setstate__(self, state):
        self.state = state

def _storage_from_bytes(data):
    """A tensor storage serialised by torch.save, read with weights_only (no code)."""
    return torch.load(io.BytesIO(data), map_location='cpu', weights_only=True)

_ALLOWED = {     # every global an EDM2 network pickle refers to, mapped to a plain data constructor
    ('torch_utils.persistence', '_reconstruct_persistent_obj'): PersistentRecord,
    ('dnnlib.util', 'EasyDict'): dict,
    ('collections', 'OrderedDict'): dict,
    ('torch.nn.modules.container', 'ModuleDict'): ModuleRecord,
    ('torch._utils', '_rebuild_tensor_v2'): torch._utils._rebuild_tensor_v2,
    ('torch._utils', '_rebuild_parameter'): torch._utils._rebuild_parameter,
    ('torch.storage', '_load_from_bytes'): _storage_from_bytes,
    **NUMPY_PICKLE_GLOBALS,
}

def read_pickle(path):
    """The top-level dict of an EDM2 pickle (`ema`, `encoder`, ...) with persistent objects as PersistentRecord;
    ValueError naming the file when it is unreadable or asks for anything outside the allowlist."""
    try:
        with open(path, 'rb') as f:
            data = AllowlistUnpickler(f, _ALLOWED, 'an EDM2 network pickle').load()
    except FileNotFoundError:
        raise FileNotFoundError(f'{path}: no such EDM2 pickle (the download rule fetches it)') from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, RuntimeError, IndexError) as err:
        raise ValueError(f'{path}: not a readable EDM2 network pickle ({type(err).__name__}: {err})') from None
    if not isinstance(data, dict) or not isinstance(data.get('ema'), PersistentRecord):
        raise ValueError(f'{path}: not an EDM2 network pickle (no `ema` network)')
    return data

def record_state_dict(record, prefix=''):
    """The state_dict of a module from its pickled record: its parameters and persistent buffers, recursively."""
    state = record.state
    out = {}
    non_persistent = state.get('_non_persistent_buffers_set') or set()
    for key in ('_parameters', '_buffers'):
        for name, value in (state.get(key) or {}).items():
            if value is not None and not (key == '_buffers' and name in non_persistent):
                out[prefix + name] = value
    for name, child in (state.get('_modules') or {}).items():
        if child is not None:
            out.update(record_state_dict(child, f'{prefix}{name}.'))
    return out

def load_network(path, device='cpu'):
    """Our Precond with the weights of an EDM2 pickle's `ema` network, loaded strictly (every key and shape),
    in float32 and eval mode; ValueError naming the file on any mismatch."""
    return network_from_record(read_pickle(path)['ema'], path).to(device)

def network_from_record(record, source):
    """Our Precond built from a pickled Precond record's constructor arguments, with its weights loaded strictly."""
    if record.class_name != 'Precond':
        raise ValueError(f'{source}: `ema` is a {record.class_name}, expected an EDM2 Precond')
    args, kwargs = record.state.get('_init_args') or (), dict(record.state.get('_init_kwargs') or {})
    try:
        net = Precond(*args, **kwargs)
        state = {k: torch.as_tensor(v).float() for k, v in record_state_dict(record).items()}
        net.load_state_dict(state, strict=True)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f'{source}: the network does not match our EDM2 Precond ({type(err).__name__}: {err})') from None
    return net.eval().requires_grad_(False)
