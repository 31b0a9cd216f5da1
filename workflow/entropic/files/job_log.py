"""The log of one pipeline job: its start-up time, timestamps, and the error that ended it."""

import gc
import logging
import os
import sys
from pathlib import Path

def process_age():
    """Seconds since this process started (Linux: /proc, 10 ms resolution); None where /proc is absent."""
    try:
        start_ticks = int(Path('/proc/self/stat').read_text().rsplit(')', 1)[1].split()[19])
        uptime = float(Path('/proc/uptime').read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return uptime - start_ticks / os.sysconf('SC_CLK_TCK')

def start(log_path, name='entropic'):
    """A logger that writes to the rule's log file (and stderr), with timestamps. Its first line gives the
    job's start-up: the seconds from the interpreter's start to this call (Snakemake's script preamble and
    the imports), which benchmarks/bench_default_run.py sums over jobs.

    It also moves every object that exists by then (those of the imports) out of the garbage collector's
    reach with gc.freeze, the standard library's tool for long-lived objects: the full collections of the
    interpreter's shutdown then skip them, 0.3-0.55 s of every job that imports torch, pandas and scipy,
    and so do the job's own full collections. Finalisers, atexit handlers and file closing run as before.

    An exception that ends the job is logged too, as its last line (`ERROR <type>: <message>`: the bad file
    or key and why), so the log Snakemake points to on failure holds the error; the traceback still goes
    to stderr."""
    age = process_age()
    gc.freeze()
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    fmt = logging.Formatter('%(asctime)s %(levelname)s %(message)s')
    log_file = logging.FileHandler(log_path, mode='w')
    for handler in (log_file, logging.StreamHandler()):
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    if age is not None:
        logger.info(f'start-up {age:.2f} s (interpreter start to the first log line: preamble and imports)')
    previous = sys.excepthook

    def log_the_error(kind, error, traceback):     # to the file alone: stderr gets the traceback, which ends alike
        log_file.handle(logger.makeRecord(name, logging.ERROR, '', 0, f'{kind.__name__}: {error}', None, None))
        previous(kind, error, traceback)

    sys.excepthook = log_the_error
    return logger
