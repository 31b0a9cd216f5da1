"""A tiny Stable Diffusion 3 pipeline built from configs in the hub layout (tests/support/sd3_tiny.py)."""

from tests.support import feature_synthetic
from tests.support.sd3_tiny import build_tiny_pipeline


def stand_ins(folder, spec):
    """The pipeline where the download rule puts stable-diffusion-3-medium-diffusers, and what a guidance study reads."""
    build_tiny_pipeline(folder / 'resources' / 'stable-diffusion-3-medium-diffusers')
    feature_synthetic.write_study_stand_ins(folder, spec)


def example(folder):
    spec = {'backend': 'sd3', 'prompts': 'config/prompts/sd15.yaml', 'sampler': {'steps': 6}, 'resolution': 16,
            'batch': 8}
    stand_ins(folder, spec)
    return {'models': {'m': spec}}
