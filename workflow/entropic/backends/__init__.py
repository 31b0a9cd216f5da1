"""Model backends, one module per model family (the contract is entropic.backends.base).

A module of this package that assigns a `Backend` instance to the name `BACKEND` is registered under that
backend's `name`, the value of `models.<name>.backend` in the config; modules without one (shared helpers)
are skipped. Nothing else needs to change to add a model family.
"""

import functools
import importlib
import pkgutil

from .base import Backend, Data, Download, Model

__all__ = ['Backend', 'Data', 'Download', 'Model', 'get', 'registry']

#----------------------------------------------------------------------------

@functools.cache
def registry():
    """{name: Backend} of every backend module in this package, sorted by name."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f'{__name__}.{info.name}')
        backend = getattr(module, 'BACKEND', None)
        if backend is None:
            continue
        if not isinstance(backend, Backend) or not backend.name:
            raise TypeError(f'{module.__name__}.BACKEND must be a named entropic.backends.Backend, got {backend!r}')
        if backend.name in found:
            raise ValueError(f'backend {backend.name!r} is defined twice ({module.__name__} and '
                             f'{type(found[backend.name]).__module__})')
        found[backend.name] = backend
    return dict(sorted(found.items()))

def get(name):
    """The backend registered as `name`; ValueError naming the known ones."""
    backends = registry()
    if name not in backends:
        raise ValueError(f'unknown backend {name!r}; backends: {", ".join(backends)}')
    return backends[name]
