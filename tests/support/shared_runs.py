"""Runs made once per test session and shared by every test and pytest-xdist worker that asks (test helper for
tests/conftest.py's fixtures and tests/test_reruns.py)."""

import fcntl
import os

import pytest


def run_once(tmp_path_factory, name, run):
    """The working directory `name` made once per session by `run(workdir)` (None when it succeeded, else the text
    of its failure), shared by every test and every xdist worker that asks: the first runs it under a file lock in
    the session's base directory, the others wait for it. A failure fails every test that asks, with its text."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'):
        root = root.parent                      # shared by the workers; each has its own folder below it
    workdir, done, failed = root / name, root / f'{name}.done', root / f'{name}.failed'
    with open(root / f'{name}.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)        # released when the file closes
        if not done.exists() and not failed.exists():
            workdir.mkdir()
            error = run(workdir)
            (done if error is None else failed).write_text(error or '')
    if failed.exists():
        pytest.fail(f'the shared run {workdir} failed:\n{failed.read_text()}')
    return workdir
