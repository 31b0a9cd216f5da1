"""A tiny Stable Diffusion 1.5 pipeline built from configs, for tests without the hub (as diffusers' own StableDiffusionPipeline test fixture).

The components follow diffusers' own test fixture (tests/pipelines/stable_diffusion, get_dummy_components)
with two changes that keep everything offline and fast: the tokenizer is built in memory from a vocab of
single letters (the fixture downloads one from the hub), and the UNet's sample_size is 8 (8x8 latents).
The scheduler carries SD1.5's settings, so the schedule read back from it is the real one.
"""

import json
import os
import string

import torch

#----------------------------------------------------------------------------

def tiny_vocab():
    """'<|startoftext|>', '<|endoftext|>', then a-z with and without the end-of-word marker '</w>'."""
    tokens = ['<|startoftext|>', '<|endoftext|>']
    tokens += list(string.ascii_lowercase) + [c + '</w>' for c in string.ascii_lowercase]
    return {token: i for i, token in enumerate(tokens)}

def write_tiny_tokenizer(folder, vocab=None, pad_token='<|endoftext|>'):
    """The tiny CLIP tokenizer (one token per letter, 77 tokens; `vocab` default tiny_vocab) in the hub layout of
    SD1.5's tokenizer/ folder: the slow tokenizer's vocab.json and merges.txt instead of transformers 5's
    tokenizer.json, and a special-tokens map (entropic.files.download.SD15_FILES) with `pad_token`. Returns the folder."""
    import transformers

    vocab = tiny_vocab() if vocab is None else vocab
    transformers.CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77, pad_token=pad_token).save_pretrained(folder)
    os.remove(f'{folder}/tokenizer.json')
    with open(f'{folder}/vocab.json', 'w') as f:
        json.dump(vocab, f)
    with open(f'{folder}/merges.txt', 'w') as f:
        f.write('#version: 0.2\n')
    with open(f'{folder}/special_tokens_map.json', 'w') as f:
        json.dump(dict(bos_token='<|startoftext|>', eos_token='<|endoftext|>', pad_token=pad_token,
                       unk_token='<|endoftext|>'), f)
    return folder

# The tiny UNet's config (SD2's adds its own keys to it, tests/sd21_tiny.py).
TINY_UNET = dict(
    block_out_channels  = (4, 8),
    layers_per_block    = 1,
    sample_size         = 8,
    in_channels         = 4,
    out_channels        = 4,
    down_block_types    = ('DownBlock2D', 'CrossAttnDownBlock2D'),
    up_block_types      = ('CrossAttnUpBlock2D', 'UpBlock2D'),
    cross_attention_dim = 8,
    norm_num_groups     = 2,
)

def build_tiny_pipeline(folder, seed=0):
    """Write unet/, vae/, text_encoder/, tokenizer/ and scheduler/ into `folder` (the hub layout); returns folder."""
    import diffusers
    import transformers

    torch.manual_seed(seed)     # the random initialisation of all three networks
    unet = diffusers.UNet2DConditionModel(**TINY_UNET)
    vae = diffusers.AutoencoderKL(
        block_out_channels  = [4, 8],
        in_channels         = 3,
        out_channels        = 3,
        down_block_types    = ['DownEncoderBlock2D'] * 2,
        up_block_types      = ['UpDecoderBlock2D'] * 2,
        latent_channels     = 4,
        norm_num_groups     = 2,
    )
    vocab = tiny_vocab()
    text_encoder = transformers.CLIPTextModel(transformers.CLIPTextConfig(
        bos_token_id        = 0,
        eos_token_id        = 2,
        pad_token_id        = 1,
        hidden_size         = 8,    # = the UNet's cross_attention_dim
        intermediate_size   = 16,
        num_attention_heads = 2,
        num_hidden_layers   = 2,
        vocab_size          = len(vocab),
    ))
    scheduler = diffusers.DDIMScheduler(
        beta_start          = 0.00085,
        beta_end            = 0.012,
        beta_schedule       = 'scaled_linear',
        num_train_timesteps = 1000,
        steps_offset        = 1,
        set_alpha_to_one    = False,
        clip_sample         = False,
    )
    unet.save_pretrained(f'{folder}/unet')
    vae.save_pretrained(f'{folder}/vae')
    text_encoder.save_pretrained(f'{folder}/text_encoder')
    scheduler.save_pretrained(f'{folder}/scheduler')
    write_tiny_tokenizer(f'{folder}/tokenizer')
    with open(f'{folder}/model_index.json', 'w') as f:
        json.dump(dict(_class_name='StableDiffusionPipeline', unet=['diffusers', 'UNet2DConditionModel'],
                       vae=['diffusers', 'AutoencoderKL'], text_encoder=['transformers', 'CLIPTextModel'],
                       tokenizer=['transformers', 'CLIPTokenizer'], scheduler=['diffusers', 'DDIMScheduler'],
                       safety_checker=[None, None], feature_extractor=[None, None]), f)
    return folder
