"""Every config in config/ runs the way its user runs it: the command in its header (`snakemake --cores all
--configfile config/<name>.yaml`, an overlay with the config it adds to), the `all` target, the file as shipped, on
stand-in weights at the real paths under resources/ and with only the sizes made small by a second `--configfile`
(tests/support/shipped_configs.py says which keys and why). A config added to the folder is covered by being
added; the pretrained families' chain tests (tests/test_pretrained_pipelines.py) read the same runs."""

from pathlib import Path

import pytest

from tests.support.shipped_configs import CONFIGS, merged_config, promised_outputs, stand_in_env, user_configfiles
from tests.support.snakemake_cli import snakemake

pytestmark = [pytest.mark.slow, pytest.mark.schedule(1, unit='test')]


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_a_shipped_config_builds_everything_it_promises_without_downloading(path, shipped_config_run):
    assert path in user_configfiles(path), f'{path.name}: the command in its header does not name the file itself'
    workdir, configfiles = shipped_config_run(path.stem)      # it ran, downloaded nothing, left resources/ alone
    missing = [p for p in promised_outputs(merged_config(user_configfiles(path)))
               if not (Path(workdir) / p).is_file() or (Path(workdir) / p).stat().st_size == 0]
    assert not missing, f'{path.name}: promised but not written: {missing}'
    again = snakemake(workdir, '-n', configfiles=configfiles, cores=2, env=stand_in_env(workdir))
    assert again.returncode == 0 and 'Nothing to be done' in again.stdout + again.stderr, again.stdout[-3000:]
