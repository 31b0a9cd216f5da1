"""Any diffusers checkpoint by configuration alone, end to end (issue 28's first Done-when): tiny folders saved with
save_pretrained (tests/diffusers_tiny.py) of a class-conditional UNet2DModel, an SDXL-like and a PixArt-like
pipeline, placed in a copy of the project with a partition file of class indices and a prompt file, and run by the
user's command, `snakemake --cores 2 --configfile my.yaml small.yaml`, where my.yaml gives each model `backend:
diffusers`, `checkpoint:` and `partitions:` and nothing else, and small.yaml only the sizes a user edits to try a
config on a small budget (as tests/shipped_configs.py's size overlay: a trajectory per hypothesis and the reference,
one shard, 5 steps, 2 snapshots, 20 bootstrap draws). No Python is written and nothing is downloaded."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from diffusers_tiny import ARCHITECTURES, write_class_partitions, write_prompt_file
from snakemake_cli import NO_SLURM, copy_project

# model: (architecture, its partitions file); three hypotheses each (classes 0, 3, 5; three prompts)
MODELS = {'tiny-ddpm': ('class-unet', 'config/partitions/tiny-ddpm.yaml'),
          'tiny-sdxl': ('sdxl', 'config/prompts/tiny.yaml'),
          'tiny-pixart': ('pixart', 'config/prompts/tiny.yaml')}
HYPOTHESES = 3


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    """The copy of the project after the user's command has run in it."""
    project = copy_project(tmp_path_factory.mktemp('diffusers-by-config') / 'project')
    write_class_partitions(project / MODELS['tiny-ddpm'][1])
    write_prompt_file(project / MODELS['tiny-sdxl'][1])
    models = {}
    for name, (architecture, partitions) in MODELS.items():
        ARCHITECTURES[architecture](project / 'models' / name)
        models[name] = {'backend': 'diffusers', 'checkpoint': f'models/{name}', 'partitions': partitions}
    (project / 'my.yaml').write_text(yaml.safe_dump({'models': models}))
    small = {'trajectories': HYPOTHESES + 1, 'shards': 1, 'sampler': {'steps': 5}, 'snapshots': 2, 'bootstrap': 20}
    (project / 'small.yaml').write_text(yaml.safe_dump({'models': {name: small for name in MODELS}}))
    result = subprocess.run([sys.executable, '-m', 'snakemake', '--cores', '2', '--configfile', 'my.yaml', 'small.yaml'],
                            cwd=project, capture_output=True, text=True,
                            env={**os.environ, **NO_SLURM, 'HF_HUB_OFFLINE': '1'})
    assert result.returncode == 0, result.stderr[-4000:]
    assert 'rule download' not in result.stderr
    return project


def test_a_config_of_backend_checkpoint_and_partitions_alone_makes_every_entropy_output(project):
    for name in MODELS:
        for suffix in ('pdf', 'png'):
            assert (project / 'results' / 'figures' / f'{name}_entropy.{suffix}').stat().st_size > 0
    for suffix in ('csv', 'md'):
        assert (project / 'results' / 'tables' / f'models_windows.{suffix}').stat().st_size > 0
    windows = pd.read_csv(project / 'results' / 'tables' / 'models_windows.csv')
    assert set(windows['model']) == set(MODELS)


@pytest.mark.parametrize('name', MODELS)
def test_every_partitions_entropy_is_finite_and_within_log_of_its_cells(project, name):
    """Each partition's entropy curve over K cells lies in [0, log K], up to the curve file's rounding to 10
    significant digits (entropic.files.store.write_csv: half a unit of the 10th digit, 5e-10 at log 3 = 1.10, 5e-11 at
    log 2 = 0.69); the file's partitions and the derived ones (each hypothesis against the reference) all have a
    curve on the grid's levels."""
    model = project / 'results' / 'models' / name
    cells = {partition: len(entry['cells']) for partition, entry in
             json.loads((model / 'partitions.json').read_text()).items()}
    assert {'three', 'pair-vs-one', 'classes'} <= set(cells)
    curve = pd.read_csv(model / 'entropy' / 'unguided.csv')
    assert set(curve['partition']) == set(cells)
    assert np.isfinite(curve['H']).all() and len(curve) >= len(cells) * 3
    for partition, group in curve.groupby('partition'):
        top = math.log(cells[partition])
        rounding = 0.5 * 10.0 ** (math.floor(math.log10(top)) - 9)
        assert group['H'].between(0, top + rounding).all(), (partition, group['H'].tolist())
