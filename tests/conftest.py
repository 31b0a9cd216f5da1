"""Test selection for the edit-test loop: `pytest -m fast` runs every test except those that run Snakemake rule
chains end to end or train networks (minutes each on a 2-core machine); plain `pytest` (and .ci/run) runs all.

A test is `fast` unless its module is in SLOW_MODULES or its name is in SLOW_TESTS: the lists name what is
slow, so a new test lands in the fast loop by default and moves out only when it is measured slow
(`pytest --durations=30`). Nothing is skipped by this file; it only adds the marker.
"""

import pytest

SLOW_MODULES = {   # every test, or the module-scoped fixture they share, runs a Snakemake chain
    'test_pipeline.py', 'test_dit_pipeline.py', 'test_edm2_pipeline.py', 'test_sd15_pipeline.py',
    'test_sd21_pipeline.py', 'test_sd3_pipeline.py', 'test_reruns.py', 'test_slurm.py', 'test_profiles.py',
}
SLOW_TESTS = {     # single slow tests in otherwise fast modules: (module, test name without parameters)
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name not in SLOW_MODULES and (item.path.name, item.originalname) not in SLOW_TESTS:
            item.add_marker(pytest.mark.fast)
