"""Benchmark: throughput of the EDM2-XS network (our implementation, random weights, the real size:
124.7M parameters, 4x64x64 latents) and the projected cost of the paper's EDM2 runs on this machine.

On CUDA the U-Net runs in float16 as EDM2 does; on a CPU in float32. One network call per row; the
paper's binary curve costs trajectories x steps x 2 rows (class and unconditional branch); our tracking
of every class in play costs trajectories x steps x (classes + 1) rows and gives every partition at once.
Both columns are printed, with the time per row measured here (best of `repeats`, after a warm-up).

    python benchmarks/bench_edm2_throughput.py [--batch 64] [--repeats 3]
"""

import argparse

import torch

from entropic.networks import edm2_unet
from network_timing import best_call_seconds, device_name

PAPER = dict(trajectories=3000, steps=64)          # one main curve (Handke et al. 2026, arXiv:2602.09651, §5)
SWEEP = dict(trajectories=300, steps=64)           # each other curve
CLASSES_IN_PLAY = 11                               # config/partitions/imagenet.yaml


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=None, help='rows per call (default 64 on CUDA, 2 on a CPU)')
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    batch = args.batch or (64 if device == 'cuda' else 2)
    torch.manual_seed(0)
    net = edm2_unet.Precond(img_resolution=64, img_channels=4, label_dim=1000, model_channels=128)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_()
    net = net.eval().requires_grad_(False).to(device)
    params = sum(p.numel() for p in net.parameters())
    x = torch.randn(batch, 4, 64, 64, device=device)
    sigma = torch.full((batch,), 1.3, device=device)
    one_hot = torch.nn.functional.one_hot(torch.arange(batch, device=device) % 1000, 1000)

    best, out = best_call_seconds(lambda: net(x, sigma, one_hot), args.repeats)
    assert torch.isfinite(out).all()
    per_row = best / batch
    name = device_name()
    dtype = 'float16' if device == 'cuda' else 'float32'
    print(f'EDM2-XS ({params:,} parameters) on {name}, {dtype}, batch {batch}: '
          f'{best:.3f} s per call, {1 / per_row:.1f} rows/s')
    for label, run in (('main curve', PAPER), ('sweep curve', SWEEP)):
        rows_paper = run['trajectories'] * run['steps'] * 2
        rows_ours = run['trajectories'] * run['steps'] * (CLASSES_IN_PLAY + 1)
        print(f"  {label} ({run['trajectories']} trajectories x {run['steps']} steps): paper's binary form "
              f"{rows_paper:,} rows = {rows_paper * per_row / 3600:.2f} h; every partition of "
              f"{CLASSES_IN_PLAY} classes {rows_ours:,} rows = {rows_ours * per_row / 3600:.2f} h "
              f'(ratio {rows_ours / rows_paper:.1f})')


if __name__ == '__main__':
    main()
