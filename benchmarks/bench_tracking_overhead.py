"""Benchmark: what posterior tracking adds to guided sampling, at equal denoiser calls (issue 3's target: <= 1.05).

Guided sampling already evaluates the conditional and the unconditional branch at every step; the
paper's binary tracker (class versus unconditional reference) reuses exactly those two evaluations,
so tracking adds only the Gaussian log-likelihoods. The denoiser is a residual MLP of the size of the
digits model (64-dim data, width 256, 3 blocks, a label embedding with a null label; random weights:
the cost, not the output, matters here). Both runs are timed in this one process, interleaved, best of 5.

    python benchmarks/bench_tracking_overhead.py
"""

import time

import torch

from entropic import noise, sampler
from entropic.denoisers import UNCONDITIONAL

DIM, WIDTH, BLOCKS, CLASSES, TRAJECTORIES, STEPS, REPEATS, TARGET = 64, 256, 3, 10, 1024, 64, 5, 1.05


class MLPDenoiser(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(CLASSES + 1, WIDTH)      # last row: the null label
        self.inp = torch.nn.Linear(DIM + 1, WIDTH)
        self.blocks = torch.nn.ModuleList(torch.nn.Sequential(torch.nn.LayerNorm(WIDTH), torch.nn.Linear(WIDTH, WIDTH),
                                                              torch.nn.SiLU(), torch.nn.Linear(WIDTH, WIDTH))
                                          for _ in range(BLOCKS))
        self.out = torch.nn.Linear(WIDTH, DIM)

    @torch.no_grad()
    def forward(self, x, sigma, labels):
        c_in, c_noise = 1 / (0.25 + sigma ** 2) ** 0.5, torch.full((len(x), 1), 0.25 * float(torch.log(torch.tensor(sigma))))
        h = self.inp(torch.cat([c_in * x, c_noise], 1)) + self.embed(torch.where(labels < 0, CLASSES, labels))
        for block in self.blocks:
            h = h + block(h)
        return self.out(h)


def run(denoiser, sigmas, x, labels, hypotheses):
    start = time.perf_counter()
    out = sampler.sample(denoiser, sigmas, labels, x, torch.Generator().manual_seed(1),
                         guidance=sampler.Guidance(2.0), hypotheses=hypotheses)
    return time.perf_counter() - start, out['calls']


if __name__ == '__main__':
    torch.manual_seed(0)
    denoiser = MLPDenoiser()
    sigmas = noise.edm_sigma_grid(STEPS, append_zero=True)
    x = 80 * torch.randn(TRAJECTORIES, DIM, generator=torch.Generator().manual_seed(0))
    labels = torch.full((TRAJECTORIES,), 3)
    plain, tracked = [], []
    for _ in range(REPEATS):
        seconds, calls_plain = run(denoiser, sigmas, x, labels, None)
        plain.append(seconds)
        seconds, calls_tracked = run(denoiser, sigmas, x, labels, [3, UNCONDITIONAL])
        tracked.append(seconds)
    print(f'guided sampling (w = 2), {TRAJECTORIES} trajectories x {STEPS} steps, MLP denoiser '
          f'({sum(p.numel() for p in denoiser.parameters()) / 1e6:.2f}M parameters), {torch.get_num_threads()} threads')
    print(f'  without tracking: {min(plain):.3f} s, {calls_plain} denoiser rows')
    print(f'  with binary tracking: {min(tracked):.3f} s, {calls_tracked} denoiser rows')
    print(f'ratio  calls with / without tracking                 : {calls_tracked / calls_plain:.3f}')
    print(f'ratio  time with / without tracking (target <= {TARGET}) : {min(tracked) / min(plain):.3f}')
