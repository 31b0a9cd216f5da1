"""Timing one network call on the device at hand, shared by the throughput benchmarks."""

import time

import torch


def best_call_seconds(call, repeats):
    """(best wall seconds of `call()` over `repeats` after one warm-up, its last output); CUDA synchronised."""
    def timed():
        start = time.perf_counter()
        with torch.no_grad():
            out = call()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter() - start, out

    timed()                                        # warm-up (cuDNN autotuning, allocations)
    runs = [timed() for _ in range(repeats)]
    return min(seconds for seconds, _ in runs), runs[-1][1]


def device_name():
    """The GPU's name, or the CPU with its thread count."""
    return torch.cuda.get_device_name() if torch.cuda.is_available() else f'CPU, {torch.get_num_threads()} threads'
