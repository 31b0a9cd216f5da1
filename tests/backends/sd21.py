"""A tiny Stable Diffusion 2.1 pipeline (v-prediction, the 768 model's settings; or the base model's) built from
configs in the hub layout (tests/support/sd21_tiny.py)."""

from entropic.backends import sd21
from tests.support import feature_synthetic
from tests.support.sd21_tiny import build_tiny_pipeline


def stand_ins(folder, spec):
    """The pipeline of the entry's `repo` where the download rule puts it, with the settings of that model (the
    -base repositories: the 512 px epsilon model), and what a guidance study reads."""
    repo = spec.get('repo', next(iter(sd21.REPOS)))
    build_tiny_pipeline(folder / sd21.repo_folder(repo), 'base' if repo.endswith('-base') else 'v')
    feature_synthetic.write_study_stand_ins(folder, spec)


def example(folder):
    spec = {'backend': 'sd21', 'prompts': 'config/prompts/sd15.yaml', 'sampler': {'steps': 6}, 'batch': 8}
    stand_ins(folder, spec)
    return {'models': {'m': spec}}
