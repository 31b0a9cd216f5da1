"""Benchmark: throughput of the full-size Stable Diffusion 3 Medium transformer (SD3Transformer2DModel built from its
published config with random weights, 16 x 128 x 128 latents of 1024 px images, 77 + 256 text tokens of width
4096, pooled text 2048) and the projected cost of config/sd3-medium.yaml's runs.

Its parameter count is checked against the published size, 2 billion (Esser et al. 2024, arXiv:2403.03206: the
depth-24 MMDiT released as SD3 Medium). On CUDA the transformer runs in float16 and bfloat16; on a CPU in
float32. One transformer row per prompt, trajectory and step: the paper's binary curve costs samples x steps x
2 rows (prompt and empty prompt); our tracking of every prompt of config/prompts/sd15.yaml costs trajectories x
steps x (prompts + 1) rows and gives every partition at once. Best of `repeats` calls after a warm-up.

    python benchmarks/bench_sd3_throughput.py [--batch 4] [--repeats 3] [--resolution 1024]
"""

import argparse

import torch

from network_timing import best_call_seconds, device_name

PUBLISHED_PARAMETERS = 2e9          # "2B", one significant figure
PAPER = dict(samples=400, steps=28)             # one binary curve at the paper's 400 samples, SD3's 28 steps
PROMPTS = 8                                     # config/prompts/sd15.yaml
OURS = dict(trajectories=1800, steps=28)        # config/sd3-medium.yaml: 200 per prompt and for the empty prompt
TEXT_TOKENS, TEXT_WIDTH, POOLED = 77 + 256, 4096, 2048


def sd3_medium_transformer():
    """SD3Transformer2DModel with SD3 Medium's architecture (the hub's transformer/config.json), random weights."""
    from diffusers import SD3Transformer2DModel
    return SD3Transformer2DModel(
        sample_size=128, patch_size=2, in_channels=16, out_channels=16, num_layers=24, attention_head_dim=64,
        num_attention_heads=24, joint_attention_dim=4096, caption_projection_dim=1536, pooled_projection_dim=2048,
        pos_embed_max_size=192,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=None, help='rows per call (default 4 on CUDA, 1 on a CPU)')
    parser.add_argument('--repeats', type=int, default=None, help='timed calls (default 3 on CUDA, 1 on a CPU)')
    parser.add_argument('--resolution', type=int, default=1024, help='image side in px (latents of side / 8)')
    args = parser.parse_args()
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    batch = args.batch or (4 if device == 'cuda' else 1)
    repeats = args.repeats or (3 if device == 'cuda' else 1)
    torch.manual_seed(0)
    net = sd3_medium_transformer().eval().requires_grad_(False)
    params = sum(p.numel() for p in net.parameters())
    published = round(params / PUBLISHED_PARAMETERS, 1) == 1.0
    print(f'SD3 Medium transformer: {params:,} parameters (published: 2B; {"agrees" if published else "DIFFERS"} '
          'to the published figure)')
    assert published, params
    side = args.resolution // 8
    dtypes = [torch.float16, torch.bfloat16] if device == 'cuda' else [torch.float32]
    rows_paper = PAPER['samples'] * PAPER['steps'] * 2
    rows_ours = OURS['trajectories'] * OURS['steps'] * (PROMPTS + 1)
    for dtype in dtypes:
        net = net.to(device, dtype)
        x = torch.randn(batch, 16, side, side, device=device, dtype=dtype)
        t = torch.full((batch,), 500.0, device=device)
        text = torch.randn(batch, TEXT_TOKENS, TEXT_WIDTH, device=device, dtype=dtype)
        pooled = torch.randn(batch, POOLED, device=device, dtype=dtype)
        best, out = best_call_seconds(lambda: net(hidden_states=x, timestep=t, encoder_hidden_states=text,
                                                  pooled_projections=pooled).sample, repeats)
        assert torch.isfinite(out).all()
        per_row = best / batch
        print(f'  on {device_name()}, {str(dtype)[6:]}, {args.resolution} px ({(side // 2) ** 2} image tokens + '
              f'{TEXT_TOKENS} text tokens), batch {batch}: {best:.3f} s per call, {1 / per_row:.4g} rows/s')
        print(f"    paper's binary curve ({PAPER['samples']} samples x {PAPER['steps']} steps x 2): {rows_paper:,} rows "
              f'= {rows_paper * per_row / 3600:.2f} h')
        print(f"    our unguided run ({OURS['trajectories']} trajectories x {OURS['steps']} steps x {PROMPTS + 1}, every "
              f'partition): {rows_ours:,} rows = {rows_ours * per_row / 3600:.2f} h '
              f'(ratio {rows_ours / rows_paper:.1f})')


if __name__ == '__main__':
    main()
