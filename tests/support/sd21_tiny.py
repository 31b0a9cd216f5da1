"""A tiny Stable Diffusion 2.1 pipeline built from configs, for tests without the hub.

SD2.1's pipeline is SD1.5's with another UNet, text encoder, tokenizer and scheduler config, so the tiny one is
SD1.5's (tests/support/sd15_tiny.py: VAE, layout) with those four replaced by tiny ones of SD2's architecture, after
diffusers' own SD2 test fixture (tests/pipelines/stable_diffusion_2, get_dummy_components): a UNet with one
head count per block, linear projections in its transformers and (768 model) attention upcast to float32; a
CLIP text model with GELU activations (OpenCLIP's; SD1.5's CLIP uses quick GELU); a tokenizer that pads with
'!' (id 0), as OpenCLIP's does. The scheduler configs are the published ones of the two models.
"""

import json
import os

import torch

from .sd15_tiny import TINY_UNET, build_tiny_pipeline as build_sd15_pipeline, tiny_vocab, write_tiny_tokenizer

# The scheduler configs of stabilityai/stable-diffusion-2-1 and -2-1-base (scheduler/scheduler_config.json).
SCHEDULERS = {
    'v': dict(_class_name='DDIMScheduler', beta_end=0.012, beta_schedule='scaled_linear', beta_start=0.00085,
              clip_sample=False, num_train_timesteps=1000, prediction_type='v_prediction', set_alpha_to_one=False,
              skip_prk_steps=True, steps_offset=1, trained_betas=None),
    'base': dict(_class_name='PNDMScheduler', beta_end=0.012, beta_schedule='scaled_linear', beta_start=0.00085,
                 clip_sample=False, num_train_timesteps=1000, prediction_type='epsilon', set_alpha_to_one=False,
                 skip_prk_steps=True, steps_offset=1, trained_betas=None),
}

#----------------------------------------------------------------------------

def sd2_vocab():
    """The tiny vocab with '!' first: id 0, SD2's padding token."""
    return {'!': 0, **{token: i + 1 for token, i in tiny_vocab().items()}}

def build_tiny_pipeline(folder, variant='v', seed=0):
    """Write a tiny SD2.1 pipeline ('v': the 768 model's settings; 'base': the 512 base model's) into `folder`
    in the hub layout; returns folder."""
    import diffusers
    import transformers

    build_sd15_pipeline(folder, seed)        # the VAE and the layout
    torch.manual_seed(seed + 1)              # the random initialisation of the UNet and the text encoder
    unet = diffusers.UNet2DConditionModel(
        **TINY_UNET,
        attention_head_dim    = (2, 4),         # heads per block, as SD2's [5, 10, 20, 20]
        use_linear_projection = True,
        upcast_attention      = variant == 'v',
    )
    vocab = sd2_vocab()
    text_encoder = transformers.CLIPTextModel(transformers.CLIPTextConfig(
        bos_token_id        = 0,
        eos_token_id        = 2,
        pad_token_id        = 1,
        hidden_act          = 'gelu',
        hidden_size         = 8,    # = the UNet's cross_attention_dim
        intermediate_size   = 16,
        num_attention_heads = 2,
        num_hidden_layers   = 2,
        vocab_size          = len(vocab),
    ))
    unet.save_pretrained(f'{folder}/unet')
    text_encoder.save_pretrained(f'{folder}/text_encoder')
    write_tiny_tokenizer(f'{folder}/tokenizer', vocab=vocab, pad_token='!')
    write_scheduler(folder, SCHEDULERS[variant])
    with open(f'{folder}/model_index.json') as f:
        index = json.load(f)
    index['scheduler'] = ['diffusers', SCHEDULERS[variant]['_class_name']]
    with open(f'{folder}/model_index.json', 'w') as f:
        json.dump(index, f)
    return folder

def write_scheduler(folder, config):
    """Write `config` as the pipeline's scheduler/scheduler_config.json."""
    os.makedirs(f'{folder}/scheduler', exist_ok=True)
    with open(f'{folder}/scheduler/scheduler_config.json', 'w') as f:
        json.dump(config, f)
