"""A tiny DiT pipeline (tests/support/dit_tiny.py) where the download rule puts the entry's repository, and a tiny
SD VAE."""

import os

from entropic.backends import dit
from tests.support import edm2_synthetic, feature_synthetic
from tests.support.dit_tiny import build_tiny_pipeline


def stand_ins(folder, spec):
    """The pipeline of the entry's `repo` (facebook/DiT-XL-2-256 by default) and sd-vae-ft-ema where the download
    rule puts them, and what a guidance study reads."""
    pipeline = dit.pipeline_files(spec.get('repo', dit.REPOS[0]))[0]
    build_tiny_pipeline(folder / os.path.dirname(pipeline))
    edm2_synthetic.write_tiny_vae(folder / os.path.dirname(dit.VAE[0]))
    feature_synthetic.write_study_stand_ins(folder, spec)


def example(folder):
    spec = {'backend': 'dit', 'partitions': 'config/partitions/imagenet.yaml', 'sampler': {'steps': 6}, 'batch': 8}
    stand_ins(folder, spec)
    return {'models': {'m': spec}}
