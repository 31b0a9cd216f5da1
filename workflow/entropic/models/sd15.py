"""Stable Diffusion 1.5 as a denoiser in EDM coordinates (docs/method.md eq. 2; Rombach et al. 2022, arXiv:2112.10752).

SD1.5 is a variance-preserving epsilon-prediction model on the DDPM scaled-linear schedule:

    x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps,    t = 0 .. T-1 (T = 1000).

Dividing by sqrt(abar_t) gives the same state in EDM (variance-exploding) coordinates,

    x = x_t / sqrt(abar_t) = x0 + sigma_t eps,       sigma_t = sqrt((1 - abar_t) / abar_t),

so the sampler, the trackers and the estimators run unchanged on SD latents. The same holds for the
v-prediction UNets of SD2.x (x0_estimate; entropic.backends.sd21), which differ only in how the output is read. The SD schedule covers only
sigma in [sigma(0), sigma(T-1)] ~ [0.029, 14.6]; a fractional timestep is used between integer ones (the
UNet's sinusoidal time embedding is defined for any real t).

Hypotheses are prompts: label k in 0..K-1 conditions on prompt k, UNCONDITIONAL (-1) on the empty prompt,
the reference of classifier-free guidance. Latents are the VAE's, multiplied by the VAE's scaling factor
(~unit variance), as in diffusers' pipelines.

diffusers and transformers are imported only where a pipeline is loaded, so this module imports without them.
"""

import json
import logging
import math
import pathlib
import re

import numpy as np
import torch
import yaml

from .. import noise
from ..partitions import UNCONDITIONAL, check_partition

LATENT_SCALE = 0.18215  # SD1.x's VAE scaling factor: latents * this have ~unit variance (the data scale)

#----------------------------------------------------------------------------
# The DDPM schedule in EDM coordinates.

def alphas_cumprod(beta_start=0.00085, beta_end=0.012, num_train_timesteps=1000):
    """abar_t = prod_{s <= t} (1 - beta_s), beta = linspace(sqrt(b0), sqrt(b1), T)^2 (scaled linear); [T] float64."""
    return noise.ddpm_alphas_cumprod(num_train_timesteps, beta_start, beta_end, 'scaled_linear')

def ddpm_sigmas(abar):
    """EDM noise level of every DDPM timestep, sigma_t = sqrt((1 - abar_t) / abar_t); increasing; [T] float64."""
    abar = np.asarray(abar, dtype=np.float64)
    return np.sqrt((1 - abar) / abar)

def timestep_for_sigma(sigma, abar):
    """The (fractional) timestep t with sigma_t = sigma, interpolating log sigma linearly between integer steps.

    Exact at integer timesteps and monotone between them. A sigma outside [sigma(0), sigma(T-1)] raises
    ValueError; one within a relative 1e-6 of an end (float32 rounding) is taken as that end.
    """
    return noise.DDPMSchedule(abar).timestep(sigma)

def sampler_sigmas(
    steps,                      # number of DDIM steps (denoiser evaluations per trajectory and hypothesis)
    abar,                       # [T] alpha_bar of the training schedule
    steps_offset = 1,           # the scheduler config's steps_offset (SD1.5: 1)
    timestep_spacing = 'leading',  # the scheduler config's timestep_spacing (SD1.5: absent, i.e. 'leading')
):
    """Decreasing EDM noise levels of an SD run, then 0; [steps + 1]: the sigma_t of the timesteps diffusers'
    DDIM scheduler visits for this spacing and offset (noise.ddpm_timesteps; 100 steps, leading, offset 1:
    991, 981, ..., 1). ValueError where that grid is not `steps` distinct timesteps.

    The last step goes from the last timestep straight to the x0 estimate (sigma = 0), where diffusers' DDIM
    with set_alpha_to_one=False stops at sigma(t=0) ~ 0.029 instead: no network call happens there and no
    posterior is tracked there, and the difference is far below what the VAE decoder resolves.
    """
    return noise.DDPMSchedule(abar, timestep_spacing, steps_offset).sigmas({'steps': steps})

#----------------------------------------------------------------------------
# The denoiser.

class SD15Denoiser:
    """D(x, sigma, labels) of entropic.denoisers for a Stable Diffusion UNet (SD1.x, SD2.x) and K prompts."""

    def __init__(self,
        unet,                       # diffusers UNet2DConditionModel; runs in its weights' dtype and device
        prompt_embeddings,          # [K, L, C] text embeddings of the K prompts (encode_prompts), L = 77 for SD1.5
        empty_embedding,            # [L, C] (or [1, L, C]) embedding of the empty prompt: the reference, UNCONDITIONAL
        abar,                       # [T] alpha_bar of the training schedule (alphas_cumprod)
        max_batch = 32,             # most rows per UNet call, to bound memory
        timestep_spacing = 'leading',   # the sampling grid of the scheduler config (noise.ddpm_timesteps)
        steps_offset     = 1,
        prediction_type  = 'epsilon',   # what the UNet predicts: one of PREDICTION_TYPES (x0_estimate)
    ):
        if prediction_type not in PREDICTION_TYPES:
            raise ValueError(f'prediction_type must be one of {", ".join(map(repr, PREDICTION_TYPES))}, got {prediction_type!r}')
        self.unet = unet
        self.prediction_type = prediction_type
        self.num_classes = len(prompt_embeddings)
        self.abar = np.asarray(abar, dtype=np.float64)
        self.max_batch = int(max_batch)
        self.schedule = noise.DDPMSchedule(self.abar, timestep_spacing, steps_offset)   # its grid, sigma <-> t
        empty = torch.as_tensor(empty_embedding).reshape(1, *prompt_embeddings.shape[1:])
        # Row k is prompt k; row K the empty prompt, picked by UNCONDITIONAL.
        self.embeddings = torch.cat([torch.as_tensor(prompt_embeddings), empty]).to(unet.device, unet.dtype)

    @torch.no_grad()
    def __call__(self, x, sigma, labels):
        rows = prompt_rows(labels, self.num_classes, len(x)).to(self.embeddings.device)
        t = self.schedule.timestep(float(sigma))
        x_t = x / math.sqrt(1 + sigma ** 2)     # = sqrt(abar_t) x: back to the VP state the UNet saw in training
        out = torch.empty_like(x)
        for start in range(0, len(x), self.max_batch):   # every label in one call, at most max_batch rows at a time
            chunk = slice(start, start + self.max_batch)
            sample = x_t[chunk].to(self.unet.device, self.unet.dtype)
            timestep = torch.full((len(sample),), t, dtype=torch.float32, device=sample.device)
            prediction = self.unet(sample, timestep, encoder_hidden_states=self.embeddings[rows[chunk]]).sample
            out[chunk] = prediction.to(x.device, x.dtype)
        return x0_estimate(x, sigma, out, self.prediction_type)

PREDICTION_TYPES = ('epsilon', 'v_prediction', 'sample')     # diffusers' names of the parametrisations

def x0_estimate(x, sigma, out, prediction_type):
    """The x0 estimate in EDM coordinates from a VP network's output `out` at the state x = x_t / sqrt(abar)
    of noise level sigma; x, out [B, ...]. With alpha = sqrt(abar) = 1 / sqrt(1 + sigma^2) and
    s = sqrt(1 - abar) = sigma alpha, so that x_t = alpha x0 + s eps:

    - 'epsilon' (Ho et al. 2020, arXiv:2006.11239, eq. 15): x0 = (x_t - s eps) / alpha = x - sigma eps;
    - 'v_prediction' (Salimans & Ho 2022, arXiv:2202.00512, section 4 and appendix D), v = alpha eps - s x0:
      x0 = alpha x_t - s v = x / (1 + sigma^2) - sigma / sqrt(1 + sigma^2) v, which is EDM's preconditioning
      c_skip x + c_out F with sigma_data = 1 (Karras et al. 2022, arXiv:2206.00364, Table 1);
    - 'sample': the network predicts x0 itself.
    """
    if prediction_type == 'epsilon':
        return x - sigma * out
    if prediction_type == 'v_prediction':
        return x / (1 + sigma ** 2) - (sigma / math.sqrt(1 + sigma ** 2)) * out
    if prediction_type == 'sample':
        return out
    raise ValueError(f'prediction_type must be one of {", ".join(map(repr, PREDICTION_TYPES))}, got {prediction_type!r}')

def prompt_rows(labels, num_prompts, count):
    """The row of a table of prompt embeddings (the K prompts, then the empty one) for each of `count` labels:
    k for prompt k, K for UNCONDITIONAL; [count] long. ValueError for another number of labels or another label."""
    labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
    if len(labels) != count:
        raise ValueError(f'{len(labels)} labels for {count} rows')
    if ((labels < UNCONDITIONAL) | (labels >= num_prompts)).any():
        raise ValueError(f'labels must be 0..{num_prompts - 1} or {UNCONDITIONAL} (the empty prompt), '
                         f'got {labels.unique().tolist()}')
    return torch.where(labels == UNCONDITIONAL, num_prompts, labels)

def check_prompt_tokens(
    tokenizer,                  # the pipeline's CLIP tokenizer (load_tokenizer); model_max_length tokens are read
    prompts,                    # the K prompts of the hypotheses; the empty prompt, the reference, is added
    source,                     # what to name in messages: the prompt file
):
    """Warnings (one line per prompt the text encoder truncates, with the words it drops, as diffusers warns);
    ValueError naming both prompts if two hypotheses (or a prompt and the empty reference) have the same
    tokens after tokenisation and truncation: their embeddings, and so every denoiser output, are then
    identical, and no partition between them can speciate."""
    return check_encoder_tokens({'the text encoder': (tokenizer, tokenizer.model_max_length)}, prompts, source)

def check_encoder_tokens(
    encoders,                   # {name of a text encoder: (its tokenizer, the tokens it reads)}, e.g. SD3's three
    prompts,                    # the K prompts of the hypotheses; the empty prompt, the reference, is added
    source,                     # what to name in messages: the prompt file
):
    """check_prompt_tokens for a pipeline that conditions on several text encoders: two prompts are the same
    hypothesis only if every encoder reads the same tokens of both (ValueError naming both); a warning for
    every prompt an encoder truncates, naming the encoder and the words it drops."""
    rows = [tokenizer(list(prompts) + [''], padding='max_length', max_length=length, truncation=True).input_ids
            for tokenizer, length in encoders.values()]
    names = [f'prompts[{k}] {prompt!r}' for k, prompt in enumerate(prompts)] + ['the empty prompt (the reference, -1)']
    lengths = [str(length) for _, length in encoders.values()]
    read = ', '.join(lengths[:-1]) + ' and ' + lengths[-1] if len(lengths) > 1 else lengths[0]
    reader = ', '.join(encoders) if len(encoders) == 1 else f"the text encoders ({', '.join(encoders)})"
    first = {}
    for k, row in enumerate(zip(*rows)):
        j = first.setdefault(tuple(map(tuple, row)), k)
        if j != k:
            raise ValueError(f'{source}: {names[j]} and {names[k]} are the same hypothesis to {reader}: '
                             f'identical after tokenisation and truncation to {read} tokens; make them differ '
                             f"within what the encoder{'s read' if len(encoders) > 1 else ' reads'}")
    warnings = []
    for name, (tokenizer, length) in encoders.items():
        kept = length - tokenizer.num_special_tokens_to_add()     # CLIP adds BOS and EOS, T5 only EOS
        for k, prompt in enumerate(prompts):
            tokens = tokenizer.tokenize(prompt)
            if len(tokens) > kept:
                dropped = tokenizer.decode(tokenizer.convert_tokens_to_ids(tokens[kept:])).strip()
                warnings.append(f'{source}: prompts[{k}] is {len(tokens) + length - kept} tokens long and {name} '
                                f'reads {length}: it drops {dropped!r}')
    return warnings

def load_tokenizer(folder):
    """The CLIP tokenizer in `folder` (a pipeline's tokenizer/), offline; FileNotFoundError naming the download."""
    import transformers
    try:
        return transformers.CLIPTokenizer.from_pretrained(folder, local_files_only=True)
    except OSError as err:
        raise FileNotFoundError(f'{folder}: cannot load the tokenizer ({err}); run the download rule of the model '
                                'in this folder to fetch it') from err

def encode_prompts(tokenizer, text_encoder, prompts):
    """Text embeddings of the prompts as diffusers' StableDiffusionPipeline.encode_prompt makes them (no
    clip_skip): padded to the tokenizer's max length (77), truncated, the encoder's last hidden state; [N, L, C]."""
    tokens = tokenizer(list(prompts), padding='max_length', max_length=tokenizer.model_max_length,
                       truncation=True, return_tensors='pt')
    with torch.no_grad():
        return text_encoder(tokens.input_ids.to(text_encoder.device)).last_hidden_state

#----------------------------------------------------------------------------
# Loading a local diffusers folder, decoding latents.

REQUIRED_FILES = ('unet/config.json', 'vae/config.json', 'text_encoder/config.json',
                  'tokenizer/tokenizer_config.json', 'scheduler/scheduler_config.json')

def _missing(path):
    return FileNotFoundError(f'{path}: not found; run the download rule of the model to fetch it into this folder '
                             '(or place its files there by hand)')

# diffusers' DDIMScheduler defaults for the keys that decide which noise levels are visited and how the UNet's
# output is read: a key absent from scheduler_config.json means this. (SD1.5's file is a PNDMScheduler config
# with skip_prk_steps; we sample as DDIMScheduler.from_config(that file) does, and keys DDIM does not read,
# such as skip_prk_steps, do not enter.)
SCHEDULER_DEFAULTS = dict(num_train_timesteps=1000, beta_schedule='linear', trained_betas=None,
                          rescale_betas_zero_snr=False, prediction_type='epsilon', timestep_spacing='leading',
                          steps_offset=0, clip_sample=True, thresholding=False)
# Those the backend honours only at one value: the schedule it computes (scaled linear betas from beta_start
# and beta_end), the epsilon it converts to x0, and the unclipped, unthresholded x0 estimate the method reads
# (the posterior mean E[x0 | x]; clip_sample_range, dynamic_thresholding_ratio and sample_max_value act only
# through clip_sample and thresholding). set_alpha_to_one only moves the end of the last step, after the last
# network call (sampler_sigmas). num_train_timesteps, beta_start, beta_end, timestep_spacing and steps_offset
# are honoured at any value.
SCHEDULER_SUPPORTED = dict(beta_schedule=('scaled_linear',), trained_betas=(None,), rescale_betas_zero_snr=(False,),
                           prediction_type=('epsilon',), timestep_spacing=noise.TIMESTEP_SPACINGS,
                           clip_sample=(False,), thresholding=(False,))

def scheduler_config(folder, supported=SCHEDULER_SUPPORTED, backend='SD15'):
    """The scheduler config in `folder`/scheduler with DDIMScheduler's defaults filled in, checked: a key the
    backend cannot honour raises ValueError naming the folder, the key, its value and what is supported.
    Another backend of a DDPM-trained diffusers pipeline calls this from its own module in entropic/backends/,
    passing its {key: supported values} and the name its messages show (as backends/sd21.py does): no module
    outside that package writes a backend's name (tests/test_layout.py)."""
    path = pathlib.Path(folder) / 'scheduler' / 'scheduler_config.json'
    if not path.is_file():
        raise _missing(path)
    given = json.loads(path.read_text())
    config = {**SCHEDULER_DEFAULTS, **given}
    for key in ('beta_start', 'beta_end'):
        if key not in config:
            raise ValueError(f'{folder}: scheduler config key {key!r} is missing')
    for key, supported in supported.items():
        value = config[key]
        if not any(value == v and type(value) is type(v) for v in supported):
            shown = f'a list of {len(value)} values' if isinstance(value, list) else repr(value)
            absent = " (DDIMScheduler's default for an absent key)" if key not in given else ''
            names = ' or '.join(filter(None, [', '.join(map(repr, supported[:-1])), repr(supported[-1])]))
            raise ValueError(f'{folder}: scheduler config key {key!r} is {shown}{absent}; the {backend} backend '
                             f'supports {names}')
    return config

def ddpm_schedule(config):
    """abar [T] of a checked scheduler config (scheduler_config): its beta schedule (noise.ddpm_alphas_cumprod),
    rescaled to zero terminal SNR where rescale_betas_zero_snr says so (noise.rescale_zero_terminal_snr)."""
    abar = noise.ddpm_alphas_cumprod(config['num_train_timesteps'], config['beta_start'], config['beta_end'],
                                     config['beta_schedule'])
    return noise.rescale_zero_terminal_snr(abar) if config['rescale_betas_zero_snr'] else abar

def schedule_from_config(folder):
    """abar of the scheduler config in `folder`/scheduler, checked to be one the backend honours (scheduler_config)."""
    return ddpm_schedule(scheduler_config(folder))

def load_pipeline_components(
    folder,                     # local diffusers folder in the hub layout: unet/, vae/, text_encoder/, tokenizer/, scheduler/
    device = 'cuda',            # where the networks run
    dtype  = torch.float16,     # dtype of the networks' weights
    scheduler = None,           # the folder's scheduler config as the caller's backend checked it; None: SD1.5's check
):
    """(unet, vae, tokenizer, text_encoder, abar) from a local folder; never touches the network."""
    import diffusers
    import transformers

    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise _missing(folder)
    for name in REQUIRED_FILES:
        if not (folder / name).is_file():
            raise _missing(folder / name)
    abar = ddpm_schedule(scheduler_config(folder) if scheduler is None else scheduler)
    try:
        unet = diffusers.UNet2DConditionModel.from_pretrained(folder / 'unet', torch_dtype=dtype, local_files_only=True)
        vae = diffusers.AutoencoderKL.from_pretrained(folder / 'vae', torch_dtype=dtype, local_files_only=True)
        text_encoder = transformers.CLIPTextModel.from_pretrained(folder / 'text_encoder', dtype=dtype, local_files_only=True)
        tokenizer = load_tokenizer(folder / 'tokenizer')
    except OSError as err:     # diffusers and transformers report missing weights as OSError
        raise FileNotFoundError(f'{folder}: cannot load the pipeline ({err}); run the download rule of the model '
                                'in this folder to fetch it completely') from err
    for net in (unet, vae, text_encoder):
        net.to(device).eval().requires_grad_(False)
    return unet, vae, tokenizer, text_encoder, abar

def load_denoiser(
    folder,                     # local diffusers folder (load_pipeline_components)
    prompts,                    # the K prompts (read_prompt_file); the empty prompt is added as the reference
    device    = 'cuda',
    dtype     = torch.float16,
    max_batch = 32,             # most rows per UNet call
    source    = 'the prompt file',  # where the prompts come from, for messages
    scheduler = None,           # the folder's scheduler config as the caller's backend checked it; None: SD1.5's check
):
    """(SD15Denoiser over the prompts, vae) from a local folder: the two things a sampling job needs.
    Prompts the text encoder cannot tell apart raise ValueError (check_prompt_tokens); truncated ones are
    logged as warnings to the job's log (the 'entropic' logger)."""
    grid = scheduler_config(folder) if scheduler is None else scheduler
    unet, vae, tokenizer, text_encoder, abar = load_pipeline_components(folder, device, dtype, grid)
    for warning in check_prompt_tokens(tokenizer, prompts, source):
        logging.getLogger('entropic').warning(warning)
    embeddings = encode_prompts(tokenizer, text_encoder, list(prompts) + [''])
    return SD15Denoiser(unet, embeddings[:-1], embeddings[-1], abar, max_batch=max_batch,
                        timestep_spacing=grid['timestep_spacing'], steps_offset=grid['steps_offset'],
                        prediction_type=grid['prediction_type']), vae

def decode(vae, latents, max_batch=8):
    """Latents in the denoiser's coordinates (scaled, ~unit variance) -> images in [0, 1], float32 numpy [B, H, W, 3].

    The division uses the VAE's own config.scaling_factor, not LATENT_SCALE: the two agree for SD1.5, but the
    config is what the VAE was trained with (another VAE, or a test one, may carry another value), while
    LATENT_SCALE only documents the data scale of SD1.5 latents. A VAE whose config has a shift_factor (SD3's,
    0.0609) gets it added back after the division, as diffusers' pipelines do; SD1.5's has none.
    """
    images = []
    with torch.no_grad():
        for chunk in torch.as_tensor(latents).split(max_batch):
            z = (chunk.float() / vae.config.scaling_factor + (vae.config.shift_factor or 0)).to(vae.device, vae.dtype)
            image = vae.decode(z).sample.float()
            images.append(((image + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy())
    return np.concatenate(images)

#----------------------------------------------------------------------------
# Prompt sets (config/prompts/*.yaml; the format is documented in config/prompts/sd15.yaml).

def read_prompt_file(path):
    """(prompts, partitions) from a prompt file: prompts a list of K strings (hypothesis k = prompts[k]),
    partitions a dict name -> cells of prompt indices (UNCONDITIONAL for the reference), checked.
    A cell member is a prompt index, a prompt's exact text, or -1; errors name the file and key."""
    try:
        entries = yaml.safe_load(pathlib.Path(path).read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f'{path}: cannot read the prompt file ({err})') from None
    if not isinstance(entries, dict) or set(entries) != {'prompts', 'partitions'}:
        raise ValueError(f'{path}: expected a mapping with exactly the keys prompts and partitions')
    prompts = entries['prompts']
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
        raise ValueError(f'{path}: key prompts must be a non-empty list of strings')
    for k, prompt in enumerate(prompts):
        if not prompt.strip():
            raise ValueError(f'{path}: prompts[{k}] is empty; the empty prompt is the unconditional reference '
                             f'({UNCONDITIONAL} in a partition) and is not listed')
        if prompts.index(prompt) != k:
            raise ValueError(f'{path}: prompts[{k}] repeats prompts[{prompts.index(prompt)}] ({prompt!r})')
    index = {prompt: k for k, prompt in enumerate(prompts)}
    partitions = entries['partitions']
    if not isinstance(partitions, dict) or not partitions:
        raise ValueError(f'{path}: key partitions must be a non-empty mapping of names to cells')
    checked = {}
    for name, cells in partitions.items():
        where = f'{path}: partition {name!r}'
        if not isinstance(name, str) or not re.fullmatch(r'[A-Za-z0-9_-]+', name):
            raise ValueError(f'{where}: a name is letters, digits, - and _')
        if not isinstance(cells, list) or not all(isinstance(cell, list) for cell in cells):
            raise ValueError(f'{where}: expected a list of cells, each a list of prompts, got {cells!r}')
        resolved = []
        for cell in cells:
            for member in cell:
                if isinstance(member, str) and member not in index:
                    raise ValueError(f'{where}: {member!r} is not in the prompt list')
            resolved.append([index[m] if isinstance(m, str) else m for m in cell])
        checked[name] = check_partition(resolved, len(prompts), name=where)
    return prompts, checked
