"""A tiny Stable Diffusion 1.5 pipeline built from configs in the hub layout (tests/sd15_tiny.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from sd15_tiny import build_tiny_pipeline  # noqa: E402


def example(folder):
    build_tiny_pipeline(folder / 'resources' / 'stable-diffusion-v1-5')
    return {'models': {'m': {'backend': 'sd15', 'prompts': 'config/prompts/sd15.yaml', 'sampler': {'steps': 6},
                             'batch': 8}}}
