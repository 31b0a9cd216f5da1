"""The digits backend's tiny example (tests/backends/digits.py), sampled as a DDPM by the digits-vp backend."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location('digits_example', Path(__file__).with_name('digits.py'))
digits = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(digits)


def example(folder):
    config = digits.example(folder)
    config['models']['m']['backend'] = 'digits-vp'
    return config
