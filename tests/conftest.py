"""What every test module shares: the speed marks, the runs that tests share, and the order and grouping of the
full suite's tests on pytest-xdist's workers.

Speed. `pytest -m fast` is the edit-test loop: every test without the `slow` mark, which a test (or a module, in
`pytestmark`) carries where it runs Snakemake rule chains end to end or trains networks (minutes each on a 2-core
machine), or where it took 8 s or more in a full run (`pytest --durations=30`). A new test is fast until it is
marked; the mark moves with the test when it is renamed. This file adds `fast` to every test without `slow`;
nothing is skipped by it. Plain `pytest` (and .ci/run) runs all.

Shared runs, each made once per session (tests/support/shared_runs.py): the complete run of config/test.yaml
(`test_config_run`) and the runs of the shipped configs (`shipped_config_run`).

Scheduling (`pytest -n ...`): a module's `schedule(order, unit=...)` mark (pyproject.toml's markers) says when
the workers take its tests and which go to one worker together; see `pytest_collection_modifyitems`.
"""

import json
import os

import pytest

from tests.support.shared_runs import run_once
from tests.support.snakemake_cli import TEST_CONFIG, snakemake


@pytest.fixture(scope='session')
def test_config_run(tmp_path_factory):
    """The working directory of one complete run of config/test.yaml (`snakemake --cores 2` from an empty
    directory), made once per session (run_once). Tests only read it (dry runs included); a test that changes it
    works on a copy made with `cp -a` (which keeps the modification times Snakemake compares)."""
    def run(workdir):
        result = snakemake(workdir, configfiles=[TEST_CONFIG], cores=2)
        return None if result.returncode == 0 else result.stderr[-3000:]
    return run_once(tmp_path_factory, 'test-config-run', run)


@pytest.fixture(scope='session')
def shipped_config_run(tmp_path_factory, request):
    """shipped_config_run(name) -> (working directory, config files) of the run of config/<name>.yaml as its user
    runs it (tests/support/shipped_configs.py: the `all` target on stand-in weights with the size overlay; an overlay on a
    copy of the run of the config it adds to; config/test.yaml is test_config_run), made once per session and
    shared (run_once)."""
    from tests.support.shipped_configs import ROOT, base_config, run_configfiles, run_shipped_config

    def get(name):
        path = ROOT / 'config' / f'{name}.yaml'
        if path == TEST_CONFIG:
            return request.getfixturevalue('test_config_run'), [TEST_CONFIG]
        base = base_config(path)            # an overlay goes on a copy of the run of the config it adds to
        base = get(base.stem)[0] if base else None
        workdir = run_once(tmp_path_factory, f'shipped-{name}', lambda w: run_shipped_config(w, path, base))
        return workdir, run_configfiles(workdir, path)
    return get


# The units of work of the xdist scheduler below, {test id: unit}, as the workers found them from the marks; the
# scheduler runs in the controller, which collects nothing, so the workers write it where the controller reads it.
UNITS_FILE = 'scheduling-units.json'


def scheduling_unit(item):
    """The unit of work `item` belongs to, by its module's or its own `schedule` mark's `unit`: 'module' (the
    default, also of unmarked modules: a module's fixtures are made on one worker, as xdist's chunks of `--dist
    load` mostly did), 'test' (the test alone: slow tests that share no module fixture run side by side) or
    'param' (the module's tests with the same parameter id together: test_reruns.py's chain of one backend)."""
    marker = item.get_closest_marker('schedule')
    unit = marker.kwargs.get('unit', 'module') if marker else 'module'
    module = item.nodeid.split('::')[0]
    if unit == 'test':
        return item.nodeid
    if unit == 'param':
        return f"{module}[{item.nodeid.rsplit('[', 1)[1]}" if '[' in item.nodeid else module
    assert unit == 'module', f'{item.nodeid}: schedule unit {unit!r} is none of module, test, param'
    return module


def pytest_collection_modifyitems(config, items):
    """`fast` on every test without `slow`; then the tests in the order of their `schedule` marks' `order` (the
    slowest first, so that the long chains run side by side from the start instead of one of them last on one
    worker; the unmarked follow in collection order), a stable sort that keeps each module's tests together
    (module fixtures are set up once per run of them). On an xdist worker, the units of work go to UNITS_FILE."""
    for item in items:
        if item.get_closest_marker('slow') is None:
            item.add_marker(pytest.mark.fast)

    def order(item):
        marker = item.get_closest_marker('schedule')
        return marker.args[0] if marker and marker.args else float('inf')
    items.sort(key=order)
    if hasattr(config, 'workerinput'):          # an xdist worker: its basetemp is the controller's/<worker id>
        path = config._tmp_path_factory.getbasetemp().parent / UNITS_FILE
        temporary = path.with_name(f'{UNITS_FILE}.{config.workerinput["workerid"]}')
        temporary.write_text(json.dumps({item.nodeid: scheduling_unit(item) for item in items}))
        os.replace(temporary, path)              # every worker collects the same tests: the last one stands


def pytest_xdist_make_scheduler(config, log):
    """With `-n` and xdist's default `--dist load`: load balancing by the units of scheduling_unit, in the
    collection order (pyproject.toml's `--no-loadscope-reorder`); an explicit other `--dist` is kept."""
    if config.getvalue('dist') != 'load':
        return None
    from xdist.scheduler import LoadScopeScheduling
    units = {}

    class ChainScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            if not units:                       # the workers have all collected when the scheduler splits
                units.update(json.loads((config._tmp_path_factory.getbasetemp() / UNITS_FILE).read_text()))
            return units[nodeid]

    return ChainScheduling(config, log)
