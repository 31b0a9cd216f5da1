"""A tiny Stable Diffusion 2.1 pipeline (v-prediction, the 768 model's settings) built from configs in the hub
layout (tests/sd21_tiny.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from sd21_tiny import build_tiny_pipeline  # noqa: E402


def example(folder):
    build_tiny_pipeline(folder / 'resources' / 'stable-diffusion-2-1')
    return {'models': {'m': {'backend': 'sd21', 'prompts': 'config/prompts/sd15.yaml', 'sampler': {'steps': 6},
                             'batch': 8}}}
