"""Benchmark: the full-size Stable Diffusion 2.1 networks (built from their published configs with random weights)
against their published parameter counts, the UNet's throughput, and the projected cost of config/sd21*.yaml.

The UNet has SD2.1's architecture (the hub's unet/config.json): 865M parameters (Podell et al. 2023, SDXL,
arXiv:2307.01952, Table 1: 865M for SD2.0/2.1, 860M for SD1.x), at 96x96 latents for the 768 px model and 64x64 for
the 512 px base model (whose UNet differs only in not upcasting attention). The text encoder is OpenCLIP ViT-H/14's
text tower without its last block (CLIPTextModel, 23 layers of width 1024), run once per prompt, not per step.
On CUDA the UNet runs in float16 (and bfloat16); on a CPU in float32. Our tracking of every prompt costs
trajectories x steps x (prompts + 1) rows and gives every partition at once; the paper's binary curve costs
samples x steps x 2. Best of `repeats` calls after a warm-up.

    python benchmarks/bench_sd21_throughput.py [--batch 8] [--repeats 3] [--variant 768|base]
"""

import argparse

import torch

from network_timing import best_call_seconds, device_name

PUBLISHED_UNET = 865e6                          # SDXL paper, Table 1: given to 3 digits, a rounding convention
                                                # not stated (SD1.5's 859,520,964 is its 860M): within 1M
PUBLISHED_TOWER = 354.03e6                      # open_clip's model profile, ViT-H-14 text parameters (2 decimals)
PROMPTS = 8                                     # config/prompts/sd15.yaml, which config/sd21*.yaml use
RUNS = {'768': dict(trajectories=1800, steps=50, size=96), 'base': dict(trajectories=1800, steps=50, size=64)}
PAPER = dict(samples=400, steps=50)             # one binary curve of 400 samples at SD2.1's 50 steps


def sd21_unet(variant):
    """UNet2DConditionModel with SD2.1's architecture (768: sample_size 96, attention upcast; base: 64), random weights."""
    from diffusers import UNet2DConditionModel
    return UNet2DConditionModel(
        sample_size=RUNS[variant]['size'], in_channels=4, out_channels=4, layers_per_block=2,
        block_out_channels=(320, 640, 1280, 1280), attention_head_dim=(5, 10, 20, 20), cross_attention_dim=1024,
        use_linear_projection=True, upcast_attention=variant == '768',
        down_block_types=('CrossAttnDownBlock2D',) * 3 + ('DownBlock2D',),
        up_block_types=('UpBlock2D',) + ('CrossAttnUpBlock2D',) * 3,
    )


def sd21_text_encoder():
    """CLIPTextModel with SD2.1's text_encoder/config.json: OpenCLIP ViT-H/14's text tower, 23 of its 24 blocks."""
    import transformers
    return transformers.CLIPTextModel(transformers.CLIPTextConfig(
        vocab_size=49408, hidden_size=1024, intermediate_size=4096, num_hidden_layers=23, num_attention_heads=16,
        max_position_embeddings=77, hidden_act='gelu', projection_dim=512))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=None, help='rows per call (default 8 on CUDA, 1 on a CPU)')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--variant', choices=list(RUNS), default='768')
    args = parser.parse_args()
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    batch = args.batch or (8 if device == 'cuda' else 1)
    run = RUNS[args.variant]
    torch.manual_seed(0)

    encoder = sd21_text_encoder()
    encoder_params = sum(p.numel() for p in encoder.parameters())
    block = sum(p.numel() for p in encoder.encoder.layers[-1].parameters())
    tower = encoder_params + block + 1024 * 1024        # with the dropped 24th block and the text projection
    del encoder
    unet = sd21_unet(args.variant).eval().requires_grad_(False)
    params = sum(p.numel() for p in unet.parameters())
    print(f'SD2.1 UNet: {params:,} parameters (published {PUBLISHED_UNET / 1e6:.0f}M: '
          f'{"agrees" if abs(params - PUBLISHED_UNET) < 1e6 else "DIFFERS"} to its 3 digits); text encoder '
          f'{encoder_params:,} parameters; with its dropped block and projection {tower / 1e6:.2f}M (OpenCLIP '
          f'publishes {PUBLISHED_TOWER / 1e6:.2f}M for the ViT-H/14 text tower: '
          f'{"agrees" if abs(tower - PUBLISHED_TOWER) < 0.005e6 else "DIFFERS"})')

    size = run['size']
    rows_ours = run['trajectories'] * run['steps'] * (PROMPTS + 1)
    rows_paper = PAPER['samples'] * PAPER['steps'] * 2
    for dtype in ([torch.float16, torch.bfloat16] if device == 'cuda' else [torch.float32]):
        unet = unet.to(device, dtype)
        x = torch.randn(batch, 4, size, size, device=device, dtype=dtype)
        t = torch.full((batch,), 500.0, device=device)
        text = torch.randn(batch, 77, 1024, device=device, dtype=dtype)
        best, out = best_call_seconds(lambda: unet(x, t, encoder_hidden_states=text).sample, args.repeats)
        assert torch.isfinite(out).all()
        per_row = best / batch
        print(f'{args.variant} ({size}x{size} latents) on {device_name()}, {str(dtype)[6:]}, batch {batch}: '
              f'{best:.3f} s per call, {1 / per_row:.3f} rows/s')
        print(f"  a binary curve ({PAPER['samples']} samples x {PAPER['steps']} steps x 2): {rows_paper:,} rows = "
              f'{rows_paper * per_row / 3600:.2f} h')
        print(f"  config/sd21{'' if args.variant == '768' else '-base'}.yaml's unguided run ({run['trajectories']} "
              f"trajectories x {run['steps']} steps x {PROMPTS + 1}, every partition): {rows_ours:,} rows = "
              f'{rows_ours * per_row / 3600:.2f} h (ratio {rows_ours / rows_paper:.1f})')


if __name__ == '__main__':
    main()
