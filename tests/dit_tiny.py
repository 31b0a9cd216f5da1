"""A tiny DiT pipeline in the layout of facebook/DiT-XL-2-256, built from configs, for tests without the hub.

The transformer follows diffusers' own DiT test fixture (tests/pipelines/dit, get_dummy_components: the legacy
Transformer2DModel class the hub's config names, ada_norm_zero, 1000 class embeddings and the null one, learned
sigma with twice the input channels) with 8x8 latents and patch size 2. Its weights are a .bin state dict, as on
the hub. The scheduler config is the hub's as its 310 bytes allow (a DDIMScheduler config written by diffusers
0.12: linear betas 1e-4..0.02 over 1000 steps, epsilon, clip_sample false, set_alpha_to_one true, steps_offset
0; every other key absent, so DDIMScheduler's defaults apply). model_index.json carries an id2label in
ImageNet order, in the classic "name, synonym, ..." form. The VAE is a tiny AutoencoderKL where the download
rule puts stabilityai/sd-vae-ft-ema.
"""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import edm2_synthetic  # noqa: E402

SCHEDULER = {                       # facebook/DiT-XL-2-256, scheduler/scheduler_config.json (inferred, see above)
    '_class_name': 'DDIMScheduler',
    '_diffusers_version': '0.12.0.dev0',
    'beta_end': 0.02,
    'beta_schedule': 'linear',
    'beta_start': 0.0001,
    'clip_sample': False,
    'num_train_timesteps': 1000,
    'prediction_type': 'epsilon',
    'set_alpha_to_one': True,
    'steps_offset': 0,
    'trained_betas': None,
}

def tiny_transformer(seed=0, sample_size=8, out_channels=8):
    """A DiT of the XL/2 kind (patch 2, adaLN-zero, 1000 classes + null, learned sigma: out_channels 8) with 2
    blocks of width 16."""
    import diffusers
    torch.manual_seed(seed)
    return diffusers.Transformer2DModel(
        sample_size             = sample_size,
        num_layers              = 2,
        patch_size              = 2,
        attention_head_dim      = 8,
        num_attention_heads     = 2,
        in_channels             = 4,
        out_channels            = out_channels,
        attention_bias          = True,
        activation_fn           = 'gelu-approximate',
        num_embeds_ada_norm     = 1000,
        norm_type               = 'ada_norm_zero',
        norm_elementwise_affine = False,
    ).eval()

def id2label():
    """{'0': 'tench, ...', ...}: our ImageNet names in class order, each with a synonym as the hub's list has."""
    from entropic.networks import imagenet
    return {str(k): f'{name}, {wnid}' for k, (name, wnid) in enumerate(zip(imagenet.class_names(), imagenet.class_wnids()))}

def build_tiny_pipeline(folder, seed=0):
    """Write model_index.json, scheduler/ and transformer/ into `folder` (the hub's layout); returns folder."""
    os.makedirs(f'{folder}/scheduler', exist_ok=True)
    tiny_transformer(seed).save_pretrained(f'{folder}/transformer', safe_serialization=False)
    with open(f'{folder}/scheduler/scheduler_config.json', 'w') as f:
        json.dump(SCHEDULER, f, indent=2, sort_keys=True)
    with open(f'{folder}/model_index.json', 'w') as f:
        json.dump({'_class_name': 'DiTPipeline', '_diffusers_version': '0.12.0.dev0', 'id2label': id2label(),
                   'scheduler': ['diffusers', 'DDIMScheduler'], 'transformer': ['diffusers', 'Transformer2DModel'],
                   'vae': ['diffusers', 'AutoencoderKL']}, f, indent=2)
    return folder

def build_tiny_resources(root, seed=0):
    """The tiny pipeline and VAE where the DiT backend's download rule puts facebook/DiT-XL-2-256 and sd-vae-ft-ema."""
    build_tiny_pipeline(root / 'resources' / 'DiT-XL-2-256', seed)
    edm2_synthetic.write_tiny_vae(root / 'resources' / 'sd-vae-ft-ema')
    return root
