"""A tiny Stable Diffusion 3 pipeline built from configs in the hub layout (tests/sd3_tiny.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from sd3_tiny import build_tiny_pipeline  # noqa: E402


def example(folder):
    build_tiny_pipeline(folder / 'resources' / 'stable-diffusion-3-medium-diffusers')
    return {'models': {'m': {'backend': 'sd3', 'prompts': 'config/prompts/sd15.yaml', 'sampler': {'steps': 6},
                             'resolution': 16, 'batch': 8}}}
