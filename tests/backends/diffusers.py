"""A tiny class-conditional pixel-space DDPM saved with save_pretrained (tests/diffusers_tiny.py), run by a config
entry of `backend: diffusers` with a checkpoint folder and a partition file alone."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from diffusers_tiny import build_class_unet, write_class_partitions  # noqa: E402


def example(folder):
    build_class_unet(folder / 'models' / 'tiny-ddpm')
    write_class_partitions(folder / 'config' / 'partitions' / 'tiny-ddpm.yaml')
    return {'models': {'m': {'backend': 'diffusers', 'checkpoint': 'models/tiny-ddpm',
                             'partitions': 'config/partitions/tiny-ddpm.yaml', 'sampler': {'steps': 6}, 'batch': 8}}}
