"""Reading a diffusers folder (the layout `save_pretrained` writes and the Hugging Face Hub serves): what no model
family owns.

A pipeline folder holds `model_index.json`, naming each component as [library, class], and one subfolder per
component (`unet/` or `transformer/`, `vae/`, `scheduler/`, `text_encoder/`, `tokenizer/`, ...). This module reads
the index, the component configs and the scheduler config, loads components offline, decodes latents with the
pipeline's VAE, and keeps the one dtype policy of the networks. The scheduler config becomes a noise process in
EDM coordinates (entropic.theory.noise): a DDPM-trained model (DDIM, DDPM, PNDM, Euler, DPM-Solver, ... configs) is an
`noise.DDPMSchedule` of its beta schedule, visited on the timesteps diffusers' DDIMScheduler lays out for the
config's spacing and offset; a rectified-flow model (FlowMatchEulerDiscreteScheduler) a `noise.FlowSchedule` of
its static shift. What a config asks that the method cannot honour (a clipped or thresholded x0 estimate, which is
not the posterior mean E[x0 | x] the method reads; Karras, exponential or beta sigmas; dynamic shifting) is
refused by key. The JSON files are read without diffusers; only loading a network imports it.
"""

import json
import pathlib

import numpy as np

from entropic.theory import noise

#----------------------------------------------------------------------------
# Files.

def missing(path, fetch='run the download rule of the model to fetch it into this folder (or place its files '
                        'there by hand)'):
    """The FileNotFoundError of a file of a pipeline folder that is not there, saying how to get it."""
    return FileNotFoundError(f'{path}: not found; {fetch}')

def read_json(path, fetch=None):
    """A JSON file of a pipeline folder as a dict; FileNotFoundError (missing) or ValueError naming the file."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise missing(path) if fetch is None else missing(path, fetch)
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f'{path}: not a JSON file ({err})') from None

def read_index(folder):
    """{component: class name} of the pipeline in `folder` (its model_index.json; null components left out), and
    the index itself: (components, index). ValueError naming the file where it is not a diffusers index."""
    index = read_json(pathlib.Path(folder) / 'model_index.json')
    if not isinstance(index.get('_class_name'), str):
        raise ValueError(f'{folder}/model_index.json: no _class_name; not the index of a diffusers pipeline')
    components = {name: value[1] for name, value in index.items()
                  if not name.startswith('_') and isinstance(value, list) and len(value) == 2 and value[1]}
    return components, index

def network_dtype(device):
    """The dtype the networks run in: float16 on a GPU (as the pipelines are run), float32 on the CPU."""
    import torch
    return torch.float16 if device == 'cuda' else torch.float32

def load_component(folder, subfolder, class_name, device='cpu', dtype=None, library='diffusers'):
    """The component `subfolder` of the pipeline in `folder` as `library`'s class `class_name` (from_pretrained,
    offline), on `device`, in eval mode without gradients; FileNotFoundError naming the folder where its files are
    missing or incomplete, ValueError for a class `library` does not have."""
    import importlib
    module = importlib.import_module(library)
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ValueError(f'{folder}/{subfolder}: {library} has no class {class_name!r}')
    path = pathlib.Path(folder) / subfolder
    if not (path / 'config.json').is_file() and library == 'diffusers':
        raise missing(path / 'config.json')
    dtype_key = 'torch_dtype' if library == 'diffusers' else 'dtype'
    try:
        net = cls.from_pretrained(path, **{dtype_key: dtype}, local_files_only=True)
    except OSError as err:     # diffusers and transformers report missing weights as OSError
        raise FileNotFoundError(f'{path}: cannot load the {class_name} ({err}); run the download rule of the model '
                                'to fetch it completely') from err
    return net.to(device).eval().requires_grad_(False)

#----------------------------------------------------------------------------
# The scheduler config as a noise process.

# The diffusers scheduler classes of DDPM-trained models, each with its own defaults (its __init__'s) for the keys
# that decide the noise levels and how the network's output is read; tests/test_diffusers.py checks them against
# diffusers. A key absent from scheduler_config.json means the class's default.
_DDPM = dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule='linear', trained_betas=None,
             prediction_type='epsilon', steps_offset=0)
DDPM_SCHEDULERS = {
    'DDIMScheduler':        {**_DDPM, 'timestep_spacing': 'leading', 'clip_sample': True, 'thresholding': False,
                             'rescale_betas_zero_snr': False},
    'DDPMScheduler':        {**_DDPM, 'timestep_spacing': 'leading', 'clip_sample': True, 'thresholding': False,
                             'rescale_betas_zero_snr': False},
    'PNDMScheduler':        {**_DDPM, 'timestep_spacing': 'leading'},
    'EulerDiscreteScheduler': {**_DDPM, 'timestep_spacing': 'linspace', 'rescale_betas_zero_snr': False},
    'EulerAncestralDiscreteScheduler': {**_DDPM, 'timestep_spacing': 'linspace', 'rescale_betas_zero_snr': False},
    'DPMSolverMultistepScheduler': {**_DDPM, 'timestep_spacing': 'linspace', 'thresholding': False,
                                    'rescale_betas_zero_snr': False},
    'UniPCMultistepScheduler': {**_DDPM, 'timestep_spacing': 'linspace', 'thresholding': False,
                                'rescale_betas_zero_snr': False},
    'DEISMultistepScheduler': {**_DDPM, 'timestep_spacing': 'linspace', 'thresholding': False},
    'LMSDiscreteScheduler': {**_DDPM, 'timestep_spacing': 'linspace'},
    'HeunDiscreteScheduler': {**_DDPM, 'beta_start': 0.00085, 'beta_end': 0.012, 'timestep_spacing': 'linspace',
                              'clip_sample': False},
}
FLOW_SCHEDULERS = {
    'FlowMatchEulerDiscreteScheduler': dict(num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=False,
                                            invert_sigmas=False, shift_terminal=None),
}
PREDICTION_TYPES = ('epsilon', 'v_prediction', 'sample')     # diffusers' names of a DDPM model's parametrisations
BETA_SCHEDULES = noise.BETA_SCHEDULES + ('sigmoid',)

# Keys honoured only at one value, with the reason; a config that sets another is refused by name.
REFUSED = {
    'clip_sample': (False, 'a clipped x0 estimate is not the posterior mean E[x0 | x] the method reads'),
    'thresholding': (False, 'a thresholded x0 estimate is not the posterior mean E[x0 | x] the method reads'),
    'use_karras_sigmas': (False, 'the sampler visits the training timesteps of the spacing, not Karras sigmas'),
    'use_exponential_sigmas': (False, 'the sampler visits the training timesteps of the spacing, not exponential '
                                      'sigmas'),
    'use_beta_sigmas': (False, 'the sampler visits the training timesteps of the spacing, not beta sigmas'),
    'use_lu_lambdas': (False, 'the sampler visits the training timesteps of the spacing'),
    'use_flow_sigmas': (False, 'a DDPM scheduler with flow sigmas samples a flow model on another path; give a '
                               'FlowMatchEulerDiscreteScheduler config'),
    'timestep_type': ('discrete', 'continuous timesteps are a network input the backend does not form'),
    'use_dynamic_shifting': (False, 'dynamic shifting makes the grid depend on the image size at sampling time'),
    'invert_sigmas': (False, 'inverted sigmas run the flow backwards'),
    'shift_terminal': (None, 'a stretched terminal time moves the end of the flow grid'),
    'sigma_min': (None, 'a clipped sigma range moves the grid off the training timesteps'),
    'sigma_max': (None, 'a clipped sigma range moves the grid off the training timesteps'),
    'interpolation_type': ('linear', 'the sampler visits integer training timesteps'),
}

def scheduler_config(folder, what='the diffusers backend'):
    """The scheduler config in `folder`/scheduler with its class's defaults filled in, checked: ValueError naming the
    folder and the key for a scheduler class the backend does not know, a beta schedule or prediction type it cannot
    read, or a key of REFUSED at another value. `what` names the reader in messages. The config gains `_process`,
    'ddpm' or 'flow'."""
    path = pathlib.Path(folder) / 'scheduler' / 'scheduler_config.json'
    given = read_json(path)
    kind = given.get('_class_name')
    defaults = DDPM_SCHEDULERS.get(kind) or FLOW_SCHEDULERS.get(kind)
    if defaults is None:
        raise ValueError(f'{path}: the scheduler is a {kind}; {what} reads the configs of '
                         f"{', '.join([*DDPM_SCHEDULERS, *FLOW_SCHEDULERS])}")
    config = {**defaults, **given, '_process': 'flow' if kind in FLOW_SCHEDULERS else 'ddpm'}
    for key, (value, reason) in REFUSED.items():
        if key in config and not (config[key] == value and type(config[key]) is type(value)):
            absent = '' if key in given else f" (the {kind}'s default for an absent key)"
            raise ValueError(f'{path}: scheduler config key {key!r} is {config[key]!r}{absent}; {what} supports only '
                             f'{value!r}: {reason}. It is a setting of sampling, not of the weights: set "{key}": '
                             f'{json.dumps(value)} in that file (or save the scheduler with {key}={value!r})')
    if config['_process'] == 'ddpm':
        if config['beta_schedule'] not in BETA_SCHEDULES and config['trained_betas'] is None:
            raise ValueError(f"{path}: scheduler config key 'beta_schedule' is {config['beta_schedule']!r}; "
                             f"{what} supports {', '.join(map(repr, BETA_SCHEDULES))} or trained_betas")
        if config['prediction_type'] not in PREDICTION_TYPES:
            raise ValueError(f"{path}: scheduler config key 'prediction_type' is {config['prediction_type']!r}; "
                             f"{what} supports {', '.join(map(repr, PREDICTION_TYPES))}")
        if config['timestep_spacing'] not in noise.TIMESTEP_SPACINGS:
            raise ValueError(f"{path}: scheduler config key 'timestep_spacing' is {config['timestep_spacing']!r}; "
                             f"{what} supports {', '.join(map(repr, noise.TIMESTEP_SPACINGS))}")
    for key in ('shift', 'num_train_timesteps'):
        value = config.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f'{path}: scheduler config key {key!r} is {value!r}; need a number > 0')
    return config

def alphas_cumprod(config):
    """abar [T] float64 of a checked DDPM scheduler config: its trained_betas, or its beta schedule
    (noise.ddpm_alphas_cumprod; 'sigmoid' as diffusers' DDPMScheduler, beta = sigmoid(linspace(-6, 6, T)) (beta_end
    - beta_start) + beta_start), rescaled to zero terminal SNR where rescale_betas_zero_snr says so (Lin et al. 2024,
    arXiv:2305.08891, noise.rescale_zero_terminal_snr)."""
    T = config['num_train_timesteps']
    if config['trained_betas'] is not None:
        abar = np.cumprod(1 - np.asarray(config['trained_betas'], dtype=np.float64))
    elif config['beta_schedule'] == 'sigmoid':
        u = np.linspace(-6, 6, T, dtype=np.float64)
        abar = np.cumprod(1 - (1 / (1 + np.exp(-u)) * (config['beta_end'] - config['beta_start']) + config['beta_start']))
    else:
        abar = noise.ddpm_alphas_cumprod(T, config['beta_start'], config['beta_end'], config['beta_schedule'])
    return noise.rescale_zero_terminal_snr(abar) if config.get('rescale_betas_zero_snr') else abar

def noise_process(config):
    """The noise process and sampling grid of a checked scheduler config (scheduler_config): noise.DDPMSchedule or
    noise.FlowSchedule."""
    if config['_process'] == 'flow':
        return noise.FlowSchedule(config['shift'], config['num_train_timesteps'])
    return noise.DDPMSchedule(alphas_cumprod(config), config['timestep_spacing'], config['steps_offset'])

#----------------------------------------------------------------------------
# Latents and pixels.

def vae_scale_factor(vae_config):
    """How much the VAE of this config downsamples: 2 ** (levels - 1), the pipelines' vae_scale_factor."""
    return 2 ** (len(vae_config['block_out_channels']) - 1)

def load_vae(folder, device='cpu', dtype=None):
    """diffusers' AutoencoderKL from a local folder (config.json and weights), offline, in float32 unless `dtype`;
    FileNotFoundError naming the folder."""
    from diffusers import AutoencoderKL
    try:
        vae = AutoencoderKL.from_pretrained(folder, local_files_only=True, **({} if dtype is None else
                                                                             {'torch_dtype': dtype}))
    except (OSError, ValueError) as err:
        raise FileNotFoundError(f'{folder}: cannot load the VAE ({err}); the download rule fetches it') from None
    return vae.eval().requires_grad_(False).to(device)

def decode(vae, latents, max_batch=8):
    """Latents in the denoiser's coordinates (multiplied by the VAE's scaling factor, ~unit variance, as diffusers'
    pipelines hold them) -> images in [0, 1], float32 numpy [B, H, W, 3]. The VAE's own config.scaling_factor
    divides, and its shift_factor (SD3's VAE, 0.0609) is added back, as the pipelines do before vae.decode."""
    import torch
    images = []
    with torch.no_grad():
        for chunk in torch.as_tensor(latents).split(max_batch):
            z = (chunk.float() / vae.config.scaling_factor + (vae.config.shift_factor or 0)).to(vae.device, vae.dtype)
            image = vae.decode(z).sample.float()
            images.append(((image + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy())
    return np.concatenate(images)
