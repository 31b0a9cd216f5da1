"""Benchmark: throughput of the full-size Stable Diffusion 1.5 UNet (built from its published config with
random weights, 4x64x64 latents, 77x768 text embeddings) and the projected cost of the paper's SD1.5 runs.

On CUDA the UNet runs in float16; on a CPU in float32. One UNet row per prompt, trajectory and step:
the paper's binary curve costs samples x steps x 2 rows (prompt and empty prompt); our tracking of every
prompt of config/prompts/sd15.yaml costs trajectories x steps x (prompts + 1) rows and gives every
partition at once. Best of `repeats` calls after a warm-up.

    python benchmarks/bench_sd15_throughput.py [--batch 16] [--repeats 3]
"""

import argparse

import torch

from network_timing import best_call_seconds, device_name

PAPER = dict(samples=400, steps=100)           # one curve (Handke et al. 2026, arXiv:2602.09651, §5)
PROMPTS = 8                                    # config/prompts/sd15.yaml
OURS = dict(trajectories=1800, steps=100)      # config/sd15.yaml: 200 per prompt and for the empty prompt


def sd15_unet():
    """UNet2DConditionModel with SD1.5's architecture (the hub's unet/config.json), random weights."""
    from diffusers import UNet2DConditionModel
    return UNet2DConditionModel(
        sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
        block_out_channels=(320, 640, 1280, 1280), attention_head_dim=8, cross_attention_dim=768,
        down_block_types=('CrossAttnDownBlock2D',) * 3 + ('DownBlock2D',),
        up_block_types=('UpBlock2D',) + ('CrossAttnUpBlock2D',) * 3,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=None, help='rows per call (default 16 on CUDA, 1 on a CPU)')
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    dtype = torch.float16 if device == 'cuda' else torch.float32
    batch = args.batch or (16 if device == 'cuda' else 1)
    torch.manual_seed(0)
    unet = sd15_unet().eval().requires_grad_(False).to(device, dtype)
    params = sum(p.numel() for p in unet.parameters())
    x = torch.randn(batch, 4, 64, 64, device=device, dtype=dtype)
    t = torch.full((batch,), 500.0, device=device)
    text = torch.randn(batch, 77, 768, device=device, dtype=dtype)

    best, out = best_call_seconds(lambda: unet(x, t, encoder_hidden_states=text).sample, args.repeats)
    assert torch.isfinite(out).all()
    per_row = best / batch
    name = device_name()
    print(f'SD1.5 UNet ({params:,} parameters) on {name}, {str(dtype)[6:]}, batch {batch}: '
          f'{best:.3f} s per call, {1 / per_row:.2f} rows/s')
    rows_paper = PAPER['samples'] * PAPER['steps'] * 2
    rows_ours = OURS['trajectories'] * OURS['steps'] * (PROMPTS + 1)
    print(f"  paper's binary curve ({PAPER['samples']} samples x {PAPER['steps']} steps x 2): {rows_paper:,} rows = "
          f'{rows_paper * per_row / 3600:.2f} h')
    print(f"  our unguided run ({OURS['trajectories']} trajectories x {OURS['steps']} steps x {PROMPTS + 1}, every "
          f'partition): {rows_ours:,} rows = {rows_ours * per_row / 3600:.2f} h (ratio {rows_ours / rows_paper:.1f})')


if __name__ == '__main__':
    main()
