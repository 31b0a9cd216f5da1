"""The digits backend's tiny example (tests/backends/digits.py), sampled as a DDPM by the digits-vp backend."""

from tests.backends import digits


def example(folder):
    config = digits.example(folder)
    config['models']['m']['backend'] = 'digits-vp'
    return config
