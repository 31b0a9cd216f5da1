"""A tiny DiT pipeline (tests/dit_tiny.py) where the download rule puts facebook/DiT-XL-2-256, and a tiny SD VAE."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from dit_tiny import build_tiny_resources  # noqa: E402


def example(folder):
    build_tiny_resources(folder)
    return {'models': {'m': {'backend': 'dit', 'partitions': 'config/partitions/imagenet.yaml', 'sampler': {'steps': 6},
                             'batch': 8}}}
