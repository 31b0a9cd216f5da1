"""Stable Diffusion 3 as a denoiser in EDM coordinates.

SD3 (Esser et al. 2024, "Scaling Rectified Flow Transformers for High-Resolution Image Synthesis",
arXiv:2403.03206) is a rectified-flow model on VAE latents: its MMDiT transformer predicts the velocity of

    x_t = (1 - t) x0 + t eps,    v = dx_t / dt = eps - x0,    t in [0, 1],

so the x0 estimate is x_t - t v ((1 - t) x0 + t eps - t (eps - x0) = x0). Divided by its signal scale 1 - t
the state is x = x_t / (1 - t) = x0 + sigma eps with sigma = t / (1 - t) (entropic.noise.FlowSchedule), and
the x0 estimate is the same number in both coordinates: D(x, sigma) = x_t - t v with x_t = x / (1 + sigma).
The sampler, the trackers and the estimators run unchanged on SD3 latents. The grid starts at t = 1 (sigma =
inf), pure noise, where the sampler holds the state standardised, x_1 = eps, and the network is evaluated at
t = 1 as the pipeline does.

Hypotheses are prompts: label k in 0..K-1 conditions on prompt k, UNCONDITIONAL (-1) on the empty prompt, the
reference of classifier-free guidance in diffusers' StableDiffusion3Pipeline. A prompt is encoded as that
pipeline's encode_prompt does: the penultimate hidden states of CLIP-L and CLIP-G (77 tokens each) side by
side, zero-padded to T5-XXL's width and followed along the sequence by T5's last hidden state (256 tokens),
and the pooled projections of the two CLIPs side by side.

A guidance-distilled model (FLUX.1-dev: its transformer takes the guidance scale as an input,
`guidance_embeds` in its config) was never trained without the prompt: it has no unconditional branch, so
neither the paper's binary form nor classifier-free guidance can be evaluated. Such a pipeline is refused.

diffusers and transformers are imported only where a pipeline is loaded, so this module imports without them.
"""

import json
import logging
import math
import pathlib

import torch

from .. import noise
from ..download import SD3_REPO as REPO
from . import sd15

MAX_SEQUENCE_LENGTH = 256   # T5 tokens: StableDiffusion3Pipeline's default max_sequence_length
# The text encoders, each with its tokenizer's and its network's folder, in the order encode_prompt uses them.
TEXT_ENCODERS = {'CLIP-L': ('tokenizer', 'text_encoder'), 'CLIP-G': ('tokenizer_2', 'text_encoder_2'),
                 'T5': ('tokenizer_3', 'text_encoder_3')}

#----------------------------------------------------------------------------
# The pipeline folder and its scheduler.

REQUIRED_FILES = ('model_index.json', 'transformer/config.json', 'vae/config.json', 'scheduler/scheduler_config.json',
                  'text_encoder/config.json', 'text_encoder_2/config.json', 'text_encoder_3/config.json',
                  'tokenizer/tokenizer_config.json', 'tokenizer_2/tokenizer_config.json', 'tokenizer_3/tokenizer.json')

def _missing(path):
    return FileNotFoundError(f'{path}: not found; run the download rule for Stable Diffusion 3 ({REPO}, a gated '
                             'repository: accept its licence and give a token in HF_TOKEN) to fetch the model '
                             'into this folder')

def _read_json(path):
    path = pathlib.Path(path)
    if not path.is_file():
        raise _missing(path)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f'{path}: not a JSON file ({err})') from None

def guidance_distilled(what, how):
    """The one-line refusal of a guidance-distilled model: `what` names it, `how` says how it was distilled."""
    return (f'{what} is guidance-distilled ({how}): it was never trained without the prompt, so it has no '
            "unconditional branch, and neither the paper's binary form <k>-vs-reference (a prompt against the "
            'empty-prompt reference) nor classifier-free guidance can be evaluated; use a model trained with '
            f'prompt dropout, such as {REPO}')

def check_pipeline(folder):
    """Refuse a folder that is not a StableDiffusion3Pipeline, first a guidance-distilled one (ValueError)."""
    folder = pathlib.Path(folder)
    transformer = _read_json(folder / 'transformer' / 'config.json')
    if transformer.get('guidance_embeds'):
        raise ValueError(guidance_distilled(f'{folder}: the pipeline',
                                            'its transformer config sets guidance_embeds: the guidance scale is '
                                            'an input of the network'))
    kind = _read_json(folder / 'model_index.json').get('_class_name')
    if kind != 'StableDiffusion3Pipeline':
        raise ValueError(f'{folder}: model_index.json names a {kind}, not a StableDiffusion3Pipeline; the SD3 '
                         'backend reads only those')

# diffusers' FlowMatchEulerDiscreteScheduler defaults for the keys that decide the noise levels visited: a key
# absent from scheduler_config.json means this. `shift` and `num_train_timesteps` are honoured at any value (the
# grid of noise.FlowSchedule); the others only at their default, the static-shift grid. base_shift, max_shift,
# base_image_seq_len, max_image_seq_len and time_shift_type act only through use_dynamic_shifting;
# stochastic_sampling changes the pipeline's own step, not its grid or its velocity, and our sampler is always
# the stochastic step in EDM coordinates (entropic.sampler).
SCHEDULER_DEFAULTS = dict(num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=False, invert_sigmas=False,
                          shift_terminal=None, use_karras_sigmas=False, use_exponential_sigmas=False,
                          use_beta_sigmas=False)
SCHEDULER_SUPPORTED = dict(use_dynamic_shifting=False, invert_sigmas=False, shift_terminal=None,
                           use_karras_sigmas=False, use_exponential_sigmas=False, use_beta_sigmas=False)

def scheduler_config(folder):
    """The scheduler config in `folder`/scheduler with FlowMatchEulerDiscreteScheduler's defaults filled in, checked:
    another scheduler class, or a key the backend cannot honour, raises ValueError naming the folder and the key."""
    given = _read_json(pathlib.Path(folder) / 'scheduler' / 'scheduler_config.json')
    kind = given.get('_class_name')
    if kind != 'FlowMatchEulerDiscreteScheduler':
        raise ValueError(f'{folder}: the scheduler is a {kind}; the SD3 backend samples on the grid of a '
                         'FlowMatchEulerDiscreteScheduler')
    config = {**SCHEDULER_DEFAULTS, **given}
    for key, supported in SCHEDULER_SUPPORTED.items():
        value = config[key]
        if value != supported or type(value) is not type(supported):
            raise ValueError(f'{folder}: scheduler config key {key!r} is {value!r}; the SD3 backend supports '
                             f'{supported!r} (the static-shift grid of FlowMatchEulerDiscreteScheduler)')
    for key in ('shift', 'num_train_timesteps'):
        if isinstance(config[key], bool) or not isinstance(config[key], (int, float)) or not config[key] > 0:
            raise ValueError(f'{folder}: scheduler config key {key!r} is {config[key]!r}; need a number > 0')
    return config

def schedule_from_config(folder):
    """The FlowSchedule of the scheduler config in `folder`/scheduler (scheduler_config)."""
    config = scheduler_config(folder)
    return noise.FlowSchedule(config['shift'], config['num_train_timesteps'])

def latent_shape(folder, resolution):
    """(C, h, w) of the latents of `resolution` x `resolution` images, from the transformer's and the VAE's
    configs (SD3 Medium at 1024 px: 16 x 128 x 128). ValueError if the side is not a multiple of the VAE's
    downsampling times the patch size, or exceeds the transformer's positional embedding."""
    folder = pathlib.Path(folder)
    transformer = _read_json(folder / 'transformer' / 'config.json')
    vae = _read_json(folder / 'vae' / 'config.json')
    factor = 2 ** (len(vae['block_out_channels']) - 1)      # the pipeline's vae_scale_factor
    patch = transformer['patch_size']
    if resolution % (factor * patch):
        raise ValueError(f'resolution {resolution}: must be a multiple of {factor * patch} (the VAE downsamples '
                         f'by {factor}, the transformer takes {patch} x {patch} patches)')
    side = resolution // factor
    largest = transformer.get('pos_embed_max_size')
    if largest is not None and side // patch > largest:
        raise ValueError(f'resolution {side * factor}: the transformer has positional embeddings for at most '
                         f'{largest * patch * factor} px')
    return transformer['in_channels'], side, side

#----------------------------------------------------------------------------
# Text.

def load_tokenizers(folder):
    """{encoder name: (tokenizer, tokens it reads)} of the pipeline in `folder`, offline: the two CLIP tokenizers
    read the first one's model_max_length (77), as the pipeline's tokenizer_max_length; T5 reads MAX_SEQUENCE_LENGTH."""
    import transformers
    folder = pathlib.Path(folder)
    try:
        clip_l = transformers.CLIPTokenizer.from_pretrained(folder / 'tokenizer', local_files_only=True)
        clip_g = transformers.CLIPTokenizer.from_pretrained(folder / 'tokenizer_2', local_files_only=True)
        t5 = transformers.T5TokenizerFast.from_pretrained(folder / 'tokenizer_3', local_files_only=True)
    except (OSError, ValueError) as err:
        raise FileNotFoundError(f'{folder}: cannot load the tokenizers ({err}); run the download rule for Stable '
                                'Diffusion 3 to fetch them') from err
    return {'CLIP-L': (clip_l, clip_l.model_max_length), 'CLIP-G': (clip_g, clip_l.model_max_length),
            'T5': (t5, MAX_SEQUENCE_LENGTH)}

def load_text_encoders(folder, device='cuda', dtype=torch.float16):
    """{encoder name: network} of the pipeline in `folder`: CLIPTextModelWithProjection twice, T5EncoderModel."""
    import transformers
    folder = pathlib.Path(folder)
    classes = {'CLIP-L': transformers.CLIPTextModelWithProjection, 'CLIP-G': transformers.CLIPTextModelWithProjection,
               'T5': transformers.T5EncoderModel}
    encoders = {}
    for name, (_, subfolder) in TEXT_ENCODERS.items():
        try:
            net = classes[name].from_pretrained(folder / subfolder, dtype=dtype, local_files_only=True)
        except OSError as err:
            raise FileNotFoundError(f'{folder / subfolder}: cannot load the {name} text encoder ({err}); run the '
                                    'download rule for Stable Diffusion 3 to fetch the complete model') from err
        encoders[name] = net.to(device).eval().requires_grad_(False)
    return encoders

@torch.no_grad()
def encode_prompts(tokenizers, encoders, prompts):
    """(embeddings [N, 77 + 256, C_T5], pooled [N, P_L + P_G]) of the prompts, as StableDiffusion3Pipeline's
    encode_prompt builds them (no clip_skip): CLIP-L's and CLIP-G's penultimate hidden states side by side, padded
    with zeros to T5's width, then T5's last hidden state along the sequence; the CLIPs' pooled projections side
    by side. `tokenizers` as load_tokenizers gives them, `encoders` as load_text_encoders."""
    prompts = list(prompts)

    def tokens(name):
        tokenizer, length = tokenizers[name]
        ids = tokenizer(prompts, padding='max_length', max_length=length, truncation=True, return_tensors='pt')
        return ids.input_ids.to(encoders[name].device)

    clip, pooled = [], []
    for name in ('CLIP-L', 'CLIP-G'):
        out = encoders[name](tokens(name), output_hidden_states=True)
        clip.append(out.hidden_states[-2])
        pooled.append(out.text_embeds)
    t5 = encoders['T5'](tokens('T5')).last_hidden_state
    clip = torch.cat(clip, dim=-1).to(t5.dtype)
    clip = torch.nn.functional.pad(clip, (0, t5.shape[-1] - clip.shape[-1]))
    return torch.cat([clip, t5], dim=-2), torch.cat(pooled, dim=-1)

#----------------------------------------------------------------------------
# The denoiser.

class SD3Denoiser:
    """D(x, sigma, labels) of entropic.denoisers for SD3's velocity-prediction transformer and K prompts."""

    def __init__(self,
        transformer,                # diffusers SD3Transformer2DModel; runs in its weights' dtype and device
        prompt_embeddings,          # [K, L, C] text embeddings of the K prompts (encode_prompts)
        pooled_embeddings,          # [K, P] their pooled embeddings
        empty_embedding,            # [L, C] (or [1, L, C]) of the empty prompt: the reference, UNCONDITIONAL
        empty_pooled,               # [P] (or [1, P]) its pooled embedding
        schedule,                   # noise.FlowSchedule of the scheduler config: its grid, sigma <-> network time
        max_batch = 32,             # most rows per transformer call, to bound memory
    ):
        self.transformer = transformer
        self.schedule = schedule
        self.num_classes = len(prompt_embeddings)
        self.max_batch = int(max_batch)
        to = dict(device=transformer.device, dtype=transformer.dtype)
        # Row k is prompt k; row K the empty prompt, picked by UNCONDITIONAL.
        self.embeddings = torch.cat([torch.as_tensor(prompt_embeddings),
                                     torch.as_tensor(empty_embedding).reshape(1, *prompt_embeddings.shape[1:])]).to(**to)
        self.pooled = torch.cat([torch.as_tensor(pooled_embeddings),
                                 torch.as_tensor(empty_pooled).reshape(1, -1)]).to(**to)

    @torch.no_grad()
    def __call__(self, x, sigma, labels):
        if not sigma > 0:
            raise ValueError(f'sigma = {sigma:.6g}: the flow-matching denoiser needs sigma > 0')
        rows = sd15.prompt_rows(labels, self.num_classes, len(x)).to(self.embeddings.device)
        t = float(noise.sigma_to_flow_time(sigma))
        # The flow state x_t = x (1 - t) = x / (1 + sigma); at sigma = inf the sampler holds x_t = eps itself.
        x_t = x if math.isinf(sigma) else x / (1 + sigma)
        timestep = torch.tensor(self.schedule.network_timestep(sigma))      # float32, as the pipeline's
        x0 = torch.empty_like(x)
        for start in range(0, len(x), self.max_batch):   # every label in one call, at most max_batch rows at a time
            chunk = slice(start, start + self.max_batch)
            sample = x_t[chunk].to(self.transformer.device, self.transformer.dtype)
            v = self.transformer(hidden_states=sample, timestep=timestep.expand(len(sample)).to(sample.device),
                                 encoder_hidden_states=self.embeddings[rows[chunk]],
                                 pooled_projections=self.pooled[rows[chunk]]).sample
            # x0 = x_t - t v: the velocity v = eps - x0 of x_t = (1 - t) x0 + t eps
            x0[chunk] = x_t[chunk] - t * v.to(x.device, x.dtype)
        return x0

#----------------------------------------------------------------------------
# Loading a local diffusers folder.

def load_transformer(folder, device='cuda', dtype=torch.float16):
    """The SD3Transformer2DModel of the pipeline in `folder`, offline."""
    import diffusers
    try:
        net = diffusers.SD3Transformer2DModel.from_pretrained(pathlib.Path(folder) / 'transformer', torch_dtype=dtype,
                                                              local_files_only=True)
    except OSError as err:
        raise FileNotFoundError(f'{folder}: cannot load the transformer ({err}); run the download rule for Stable '
                                'Diffusion 3 to fetch the complete model') from err
    return net.to(device).eval().requires_grad_(False)

def check_folder(folder):
    """Every check of a pipeline folder that needs no network: its files, its class (check_pipeline) and its
    scheduler (scheduler_config); FileNotFoundError or ValueError naming the folder."""
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise _missing(folder)
    for name in REQUIRED_FILES:
        if not (folder / name).is_file():
            raise _missing(folder / name)
    check_pipeline(folder)
    scheduler_config(folder)

def load_denoiser(
    folder,                     # local diffusers folder of a StableDiffusion3Pipeline (hub layout)
    prompts,                    # the K prompts (sd15.read_prompt_file); the empty prompt is added as the reference
    device     = 'cuda',
    dtype      = torch.float16,
    max_batch  = 32,            # most rows per transformer call
    source     = 'the prompt file',  # where the prompts come from, for messages
):
    """The SD3Denoiser over the prompts from a local folder; never touches the network. Prompts the three text
    encoders cannot tell apart raise ValueError (sd15.check_encoder_tokens); truncated ones are logged as
    warnings to the job's log (the 'entropic' logger). The text encoders are freed once the prompts are encoded."""
    check_folder(folder)
    tokenizers = load_tokenizers(folder)
    for warning in sd15.check_encoder_tokens(tokenizers, prompts, source):
        logging.getLogger('entropic').warning(warning)
    encoders = load_text_encoders(folder, device, dtype)
    embeddings, pooled = encode_prompts(tokenizers, encoders, list(prompts) + [''])
    del encoders
    if device == 'cuda':
        torch.cuda.empty_cache()
    return SD3Denoiser(load_transformer(folder, device, dtype), embeddings[:-1], pooled[:-1], embeddings[-1],
                      pooled[-1], schedule_from_config(folder), max_batch=max_batch)
