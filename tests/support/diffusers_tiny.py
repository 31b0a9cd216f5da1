"""Tiny diffusers pipelines built from configs with random weights and saved with `save_pretrained`, for the generic
diffusers backend's tests (never downloaded).

One builder per architecture the backend reads (`ARCHITECTURES`), each a pipeline of the real classes with the
sizes of diffusers' own test fixtures (tests/pipelines/<pipeline>/test_*.py, get_dummy_components) shrunk further,
and the scheduler config of the model it stands in for; tokenizers are built in memory (tests/support/sd15_tiny.py for
CLIP, tests/support/sd3_tiny.py for T5). SD1.5, SD2.1, DiT and SD3 reuse the families' tiny pipelines.
"""

import yaml


#----------------------------------------------------------------------------
# Class-conditional pixel space: a UNet2DModel as a researcher saves one.

def build_class_unet(folder, seed=0):
    """A class-conditional pixel-space DDPM as a researcher saves one: a UNet2DModel on 8 x 8 grey images with 11 class
    embeddings (classes 0..9, the last the null label of label dropout), epsilon prediction on linear betas, DDIM's
    leading spacing with steps_offset 1, in a DDIMPipeline folder. Returns the folder."""
    import diffusers
    import torch
    torch.manual_seed(seed)
    unet = diffusers.UNet2DModel(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 16),
                                 layers_per_block=1, down_block_types=('DownBlock2D', 'DownBlock2D'),
                                 up_block_types=('UpBlock2D', 'UpBlock2D'), norm_num_groups=4, num_class_embeds=11)
    scheduler = diffusers.DDIMScheduler(beta_schedule='linear', timestep_spacing='leading', steps_offset=1,
                                        clip_sample=False)
    diffusers.DDIMPipeline(unet=unet, scheduler=scheduler).save_pretrained(folder)
    return folder


def write_class_partitions(path):
    """Partitions of three of its classes: each against the others, and one pair against the third."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({'pair-vs-one': [[0, 3], [5]], 'three': [[0], [3], [5]]}))
    return path

#----------------------------------------------------------------------------
# Prompt-conditioned and latent pipelines.

def tiny_vae(seed=0, **config):
    """A tiny AutoencoderKL (4 latent channels, 2x downsampling; `config` overrides), as the families' tiny ones."""
    import diffusers
    import torch
    torch.manual_seed(seed)
    return diffusers.AutoencoderKL(**{**dict(block_out_channels=[4, 8], in_channels=3, out_channels=3, latent_channels=4,
                                             down_block_types=['DownEncoderBlock2D'] * 2,
                                             up_block_types=['UpDecoderBlock2D'] * 2, norm_num_groups=2), **config})


def build_sd15(folder, seed=0):
    """SD1.5-like: UNet2DConditionModel, one CLIP, epsilon, SD1.5's DDIM config (tests/support/sd15_tiny.py)."""
    from .sd15_tiny import build_tiny_pipeline
    return build_tiny_pipeline(folder, seed)


def build_sd21(folder, seed=0):
    """SD2.1-like: v prediction, SD2's UNet and OpenCLIP-like encoder, SD2.1's DDIM config (tests/support/sd21_tiny.py)."""
    from .sd21_tiny import build_tiny_pipeline
    return build_tiny_pipeline(folder, 'v', seed)


# stabilityai/stable-diffusion-xl-base-1.0, scheduler/scheduler_config.json
SDXL_SCHEDULER = dict(beta_end=0.012, beta_schedule='scaled_linear', beta_start=0.00085, interpolation_type='linear',
                      num_train_timesteps=1000, prediction_type='epsilon', steps_offset=1, timestep_spacing='leading',
                      trained_betas=None, use_karras_sigmas=False)
SDXL_CLIP_WIDTHS = {'text_encoder': 8, 'text_encoder_2': 12}    # unequal, so that their order matters
SDXL_TIME_EMBED = 4                                              # the UNet's addition_time_embed_dim


def build_sdxl(folder, seed=0, force_zeros_for_empty_prompt=True):
    """SDXL-like: a StableDiffusionXLPipeline of two CLIP text encoders (the second a CLIPTextModelWithProjection, its
    tokenizer padding with '!' as OpenCLIP's), a UNet2DConditionModel with addition_embed_type 'text_time' whose
    projection_class_embeddings_input_dim is 6 time ids x addition_time_embed_dim + the pooled width, SDXL's
    EulerDiscreteScheduler config; 8 x 8 latents (16 px). After diffusers' SDXL fixture. Returns the folder."""
    import diffusers
    import torch
    import transformers
    from .sd15_tiny import tiny_vocab, write_tiny_tokenizer
    from .sd21_tiny import sd2_vocab

    torch.manual_seed(seed)
    unet = diffusers.UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=('DownBlock2D', 'CrossAttnDownBlock2D'), up_block_types=('CrossAttnUpBlock2D', 'UpBlock2D'),
        attention_head_dim=(2, 4), use_linear_projection=True, norm_num_groups=2,
        cross_attention_dim=sum(SDXL_CLIP_WIDTHS.values()), addition_embed_type='text_time',
        addition_time_embed_dim=SDXL_TIME_EMBED,
        projection_class_embeddings_input_dim=6 * SDXL_TIME_EMBED + SDXL_CLIP_WIDTHS['text_encoder_2'])
    encoders = {}
    for (name, width), vocab in zip(SDXL_CLIP_WIDTHS.items(), (tiny_vocab(), sd2_vocab())):
        config = transformers.CLIPTextConfig(bos_token_id=0, eos_token_id=2, pad_token_id=1, hidden_size=width,
                                             intermediate_size=2 * width, num_attention_heads=2, num_hidden_layers=3,
                                             projection_dim=width, vocab_size=len(vocab), hidden_act='gelu')
        cls = transformers.CLIPTextModel if name == 'text_encoder' else transformers.CLIPTextModelWithProjection
        encoders[name] = cls(config)
    tokenizers = {'tokenizer': write_tiny_tokenizer(f'{folder}/tokenizer'),
                  'tokenizer_2': write_tiny_tokenizer(f'{folder}/tokenizer_2', vocab=sd2_vocab(), pad_token='!')}
    pipe = diffusers.StableDiffusionXLPipeline(
        vae=tiny_vae(seed), unet=unet, scheduler=diffusers.EulerDiscreteScheduler(**SDXL_SCHEDULER),
        force_zeros_for_empty_prompt=force_zeros_for_empty_prompt, add_watermarker=False, **encoders,
        **{name: transformers.CLIPTokenizer.from_pretrained(path) for name, path in tokenizers.items()})
    pipe.save_pretrained(folder)
    return folder


# PixArt-alpha/PixArt-XL-2-1024-MS, scheduler/scheduler_config.json
PIXART_SCHEDULER = dict(algorithm_type='dpmsolver++', beta_end=0.02, beta_schedule='linear', beta_start=0.0001,
                        dynamic_thresholding_ratio=0.995, euler_at_final=False, lambda_min_clipped=float('-inf'),
                        lower_order_final=True, num_train_timesteps=1000, prediction_type='epsilon',
                        sample_max_value=1.0, solver_order=2, solver_type='midpoint', steps_offset=0,
                        thresholding=False, timestep_spacing='linspace', trained_betas=None, use_karras_sigmas=False,
                        use_lu_lambdas=False, variance_type=None)
PIXART_T5_WIDTH = 16


def build_pixart(folder, seed=0):
    """PixArt-alpha-like: a PixArtAlphaPipeline of a PixArtTransformer2DModel (adaLN-single, patch 2, learned sigma:
    twice the input channels out, 8 x 8 latents, so no micro-conditions, which only the 1024 px model's sample size
    128 takes), a T5EncoderModel and its tokenizer (tests/support/sd3_tiny.py's), PixArt-alpha's DPMSolverMultistepScheduler
    config. After diffusers' PixArt fixture. Returns the folder."""
    import diffusers
    import torch
    import transformers
    from .sd3_tiny import write_tiny_t5_tokenizer

    write_tiny_t5_tokenizer(f'{folder}/tokenizer')
    tokenizer = transformers.T5TokenizerFast.from_pretrained(f'{folder}/tokenizer')
    torch.manual_seed(seed)
    transformer = diffusers.PixArtTransformer2DModel(
        sample_size=8, num_layers=2, patch_size=2, attention_head_dim=4, num_attention_heads=2,
        caption_channels=PIXART_T5_WIDTH, in_channels=4, out_channels=8, cross_attention_dim=8, attention_bias=True,
        activation_fn='gelu-approximate', num_embeds_ada_norm=1000, norm_type='ada_norm_single',
        norm_elementwise_affine=False, norm_eps=1e-6)
    text_encoder = transformers.T5EncoderModel(transformers.T5Config(
        vocab_size=len(tokenizer), d_model=PIXART_T5_WIDTH, d_kv=4, d_ff=16, num_layers=2, num_heads=2,
        relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0))
    pipe = diffusers.PixArtAlphaPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=tiny_vae(seed),
                                         transformer=transformer,
                                         scheduler=diffusers.DPMSolverMultistepScheduler(**PIXART_SCHEDULER))
    pipe.save_pretrained(folder)
    return folder


def build_dit(folder, seed=0):
    """DiT: the facebook/DiT-XL-2-256 layout of tests/support/dit_tiny.py (legacy Transformer2DModel config, learned sigma,
    1000 classes and the null one, DDIM config) with a tiny VAE in vae/, where DiTPipeline's folder has it."""
    from . import dit_tiny
    dit_tiny.build_tiny_pipeline(folder, seed)
    tiny_vae(seed).save_pretrained(f'{folder}/vae')
    return folder


def build_sd3(folder, seed=0):
    """SD3-like: rectified flow, three text encoders, FlowMatchEulerDiscreteScheduler with shift 3 (tests/support/sd3_tiny.py)."""
    from .sd3_tiny import build_tiny_pipeline
    return build_tiny_pipeline(folder, seed)


ARCHITECTURES = {'class-unet': build_class_unet, 'sd15': build_sd15, 'sd21': build_sd21, 'sdxl': build_sdxl,
                 'dit': build_dit, 'pixart': build_pixart, 'sd3': build_sd3}


def write_prompt_file(path, prompts=('a red fox', 'a blue cat', 'an old ship')):
    """A prompt file (the format of config/prompts/sd15.yaml) of three prompts: each against the others, and the first
    two together against the third."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({'prompts': list(prompts),
                                    'partitions': {'three': [[0], [1], [2]], 'pair-vs-one': [[0, 1], [2]]}}))
    return path
