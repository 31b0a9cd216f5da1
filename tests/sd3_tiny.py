"""A tiny Stable Diffusion 3 pipeline built from configs, for tests without the hub.

The components are those of diffusers' own SD3 test fixture (tests/pipelines/stable_diffusion_3,
get_dummy_components): an SD3Transformer2DModel, two CLIPTextModelWithProjection, a T5EncoderModel, an
AutoencoderKL with SD3's scaling and shift factors and a FlowMatchEulerDiscreteScheduler, with changes that
keep everything offline and catch mix-ups: the tokenizers are built in memory (one token per letter; the
fixture downloads them), the two CLIPs have different widths (8 and 12) so that their order matters, T5 is
wider than both together (24), and the transformer takes 2 x 2 patches of 8 x 8 latents as SD3's does. The
scheduler carries SD3 Medium's shift, 3.0, so the grid read back from it is the real one. Every file of the
hub layout that the download rule fetches (entropic.files.download.SD3_FILES) is written, T5 in two shards.
"""

import json
import os
import string
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from sd15_tiny import tiny_vocab, write_tiny_tokenizer  # noqa: E402

CLIP_WIDTHS = {'text_encoder': 8, 'text_encoder_2': 12}
T5_WIDTH = 24

#----------------------------------------------------------------------------

def write_tiny_t5_tokenizer(folder):
    """A T5 (unigram) tokenizer of single letters, '▁'-prefixed letters and the special tokens, written as the
    hub's tokenizer_3/ holds it for transformers (tokenizer.json, tokenizer_config.json, special_tokens_map.json)."""
    import transformers

    pieces = [('<pad>', 0.0), ('</s>', 0.0), ('<unk>', 0.0), ('▁', -3.0)]
    pieces += [(c, -2.0) for c in string.ascii_lowercase] + [('▁' + c, -1.0) for c in string.ascii_lowercase]
    transformers.T5TokenizerFast(vocab=pieces, extra_ids=0).save_pretrained(folder)
    with open(f'{folder}/special_tokens_map.json', 'w') as f:
        json.dump(dict(eos_token='</s>', pad_token='<pad>', unk_token='<unk>'), f)
    return folder

def build_tiny_pipeline(folder, seed=0, guidance_embeds=None):
    """Write the hub layout of a tiny SD3 pipeline into `folder`; returns folder. `guidance_embeds`, when given,
    is written into the transformer's config as a guidance-distilled (FLUX-like) pipeline's is."""
    import diffusers
    import transformers

    torch.manual_seed(seed)     # the random initialisation of every network
    transformer = diffusers.SD3Transformer2DModel(
        sample_size            = 8,
        patch_size             = 2,
        in_channels            = 4,
        out_channels           = 4,
        num_layers             = 2,
        attention_head_dim     = 4,
        num_attention_heads    = 2,
        joint_attention_dim    = T5_WIDTH,
        caption_projection_dim = 8,
        pooled_projection_dim  = sum(CLIP_WIDTHS.values()),
        pos_embed_max_size     = 8,
    )
    vae = diffusers.AutoencoderKL(
        block_out_channels  = [4, 8],
        in_channels         = 3,
        out_channels        = 3,
        down_block_types    = ['DownEncoderBlock2D'] * 2,
        up_block_types      = ['UpDecoderBlock2D'] * 2,
        latent_channels     = 4,
        norm_num_groups     = 2,
        use_quant_conv      = False,
        use_post_quant_conv = False,
        scaling_factor      = 1.5305,   # SD3's
        shift_factor        = 0.0609,
    )
    vocab = tiny_vocab()
    for name, width in CLIP_WIDTHS.items():
        transformers.CLIPTextModelWithProjection(transformers.CLIPTextConfig(
            bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=width, intermediate_size=2 * width,
            num_attention_heads=2, num_hidden_layers=2, projection_dim=width, vocab_size=len(vocab),
        )).save_pretrained(f'{folder}/{name}')
        write_tiny_tokenizer(f'{folder}/{name.replace("text_encoder", "tokenizer")}')
    write_tiny_t5_tokenizer(f'{folder}/tokenizer_3')
    t5 = transformers.T5EncoderModel(transformers.T5Config(
        vocab_size=len(transformers.T5TokenizerFast.from_pretrained(f'{folder}/tokenizer_3')), d_model=T5_WIDTH,
        d_kv=4, d_ff=16, num_layers=1, num_heads=2, relative_attention_num_buckets=8, pad_token_id=0,
        eos_token_id=1, decoder_start_token_id=0,
    ))
    t5.save_pretrained(f'{folder}/text_encoder_3')
    split_in_two_shards(f'{folder}/text_encoder_3')
    transformer.save_pretrained(f'{folder}/transformer')
    if guidance_embeds is not None:
        transformer_config = json.load(open(f'{folder}/transformer/config.json'))
        transformer_config['guidance_embeds'] = guidance_embeds
        json.dump(transformer_config, open(f'{folder}/transformer/config.json', 'w'))
    vae.save_pretrained(f'{folder}/vae')
    diffusers.FlowMatchEulerDiscreteScheduler(shift=3.0).save_pretrained(f'{folder}/scheduler')
    with open(f'{folder}/model_index.json', 'w') as f:
        json.dump(dict(_class_name='StableDiffusion3Pipeline', transformer=['diffusers', 'SD3Transformer2DModel'],
                       scheduler=['diffusers', 'FlowMatchEulerDiscreteScheduler'], vae=['diffusers', 'AutoencoderKL'],
                       text_encoder=['transformers', 'CLIPTextModelWithProjection'],
                       text_encoder_2=['transformers', 'CLIPTextModelWithProjection'],
                       text_encoder_3=['transformers', 'T5EncoderModel'], tokenizer=['transformers', 'CLIPTokenizer'],
                       tokenizer_2=['transformers', 'CLIPTokenizer'], tokenizer_3=['transformers', 'T5TokenizerFast'],
                       image_encoder=[None, None], feature_extractor=[None, None]), f)
    return folder

def split_in_two_shards(folder):
    """Rewrite a transformers model.safetensors as the hub's T5-XXL is stored: model-00001-of-00002.safetensors,
    model-00002-of-00002.safetensors and model.safetensors.index.json mapping every tensor to its shard."""
    from safetensors.torch import load_file, save_file
    tensors = load_file(f'{folder}/model.safetensors')
    names = sorted(tensors)
    weight_map = {}
    for i, part in enumerate((names[:len(names) // 2], names[len(names) // 2:])):
        shard = f'model-0000{i + 1}-of-00002.safetensors'
        save_file({k: tensors[k] for k in part}, f'{folder}/{shard}', metadata={'format': 'pt'})
        weight_map.update(dict.fromkeys(part, shard))
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    with open(f'{folder}/model.safetensors.index.json', 'w') as f:
        json.dump({'metadata': {'total_size': total}, 'weight_map': weight_map}, f)
    os.remove(f'{folder}/model.safetensors')
