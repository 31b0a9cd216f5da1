"""Benchmark: the full-size DiT-XL/2 transformer (diffusers' DiTTransformer2DModel with the published
architecture, random weights), its parameter count against the published one, its throughput, and the
projected cost of config/dit-xl2-256.yaml's runs.

DiT-XL/2 (Peebles & Xie 2023, arXiv:2212.09748, Table 4): 28 blocks of width 1152, 16 heads, patch 2, 675M
parameters, 118.6 Gflops per 256x256 image (32x32 latents); diffusers' layout repeats the shared timestep and
class embedders in every block, which the count below takes out again. On a CPU the transformer runs in float32; on CUDA
in float16 (what the backend uses) and bfloat16. One transformer row per hypothesis, trajectory and step: the
config tracks 11 ImageNet classes and the null label, 12 rows per trajectory and step. Best of `repeats`
calls after a warm-up.

    python benchmarks/bench_dit_throughput.py [--resolution 256] [--batch N] [--repeats 3]
"""

import argparse

import torch

from network_timing import best_call_seconds, device_name

PUBLISHED_PARAMETERS = 675e6        # DiT-XL/2, Table 4 (given to the million)
CONFIG = dict(trajectories=3000, steps=250, hypotheses=12, guided=3 * 300)    # config/dit-xl2-256.yaml


def dit_xl2(resolution):
    """DiTTransformer2DModel with DiT-XL/2's architecture (facebook/DiT-XL-2-<resolution>/transformer/config.json)."""
    from diffusers import DiTTransformer2DModel
    return DiTTransformer2DModel(num_attention_heads=16, attention_head_dim=72, in_channels=4, out_channels=8,
                                 num_layers=28, sample_size=resolution // 8, patch_size=2, num_embeds_ada_norm=1000,
                                 norm_type='ada_norm_zero', activation_fn='gelu-approximate', attention_bias=True,
                                 norm_elementwise_affine=False)


def rows_per_second(transformer, batch, resolution, device, dtype, repeats):
    size = resolution // 8
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 4, size, size, generator=generator).to(device, dtype)
    t = torch.full((batch,), 500.0, device=device)
    labels = torch.arange(batch, device=device) % 1001           # classes and the null label
    best, out = best_call_seconds(lambda: transformer(x, timestep=t, class_labels=labels).sample, repeats)
    assert out.shape == (batch, 8, size, size) and torch.isfinite(out).all()
    return batch / best, best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--resolution', type=int, choices=[256, 512], default=256)
    parser.add_argument('--batch', type=int, default=None, help='rows per call (default 64 on CUDA, 2 on a CPU)')
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    batch = args.batch or (64 if cuda else 2)
    torch.manual_seed(0)
    transformer = dit_xl2(args.resolution).eval().requires_grad_(False)
    # diffusers gives each of the 28 blocks its own timestep and class embedders (copies of DiT's shared ones in
    # the converted checkpoint): the published count is that of the distinct ones.
    params = sum(p.numel() for p in transformer.parameters())
    copies = sum(p.numel() for p in transformer.transformer_blocks[0].norm1.emb.parameters())
    distinct = params - (len(transformer.transformer_blocks) - 1) * copies
    print(f'DiT-XL/2 at {args.resolution}px: {params:,} parameters in diffusers\' layout, {distinct:,} without the '
          f'{len(transformer.transformer_blocks) - 1} copies of the shared embedders ({copies:,} each); published '
          f'{PUBLISHED_PARAMETERS / 1e6:.0f}M (ratio {distinct / PUBLISHED_PARAMETERS:.4f})')
    assert abs(distinct - PUBLISHED_PARAMETERS) < 0.5e6, 'not the published DiT-XL/2 architecture'

    settings = [('cuda', torch.float16), ('cuda', torch.bfloat16)] if cuda else [('cpu', torch.float32)]
    rows = CONFIG['trajectories'] * CONFIG['steps'] * CONFIG['hypotheses']
    guided = CONFIG['guided'] * CONFIG['steps'] * CONFIG['hypotheses']
    for device, dtype in settings:
        rate, seconds = rows_per_second(transformer.to(device, dtype), batch, args.resolution, device, dtype,
                                        args.repeats)
        print(f'  {device_name()}, {str(dtype)[6:]}, batch {batch}: {seconds:.3f} s per call, {rate:.2f} rows/s')
        print(f"    config/dit-xl2-256.yaml unguided curve ({CONFIG['trajectories']} trajectories x {CONFIG['steps']} "
              f"steps x {CONFIG['hypotheses']}): {rows:,} rows = {rows / rate / 3600:.2f} h; its three guided runs: "
              f'{guided:,} rows = {guided / rate / 3600:.2f} h')


if __name__ == '__main__':
    main()
