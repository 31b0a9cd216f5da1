"""The Stable Diffusion 1.5 preset of the diffusers backend: the schedule in EDM coordinates, the denoiser on a tiny
pipeline (entropic.networks.diffusers_pipeline, diffusers_denoiser), prompt files and their encoding
(entropic.networks.text_encoders).

Everything runs offline on CPU against a tiny pipeline built from configs (tests/sd15_tiny.py).
"""

import copy
import json
import math
import os
import pathlib
import re
import shutil

os.environ['HF_HUB_OFFLINE'] = '1'      # before diffusers / transformers are imported: never touch the hub

import numpy as np
import pytest
import torch

from entropic.theory import noise
from entropic.method import sampler
from entropic.networks import diffusers_folder, diffusers_pipeline, text_encoders
from entropic.networks.diffusers_denoiser import DiffusersDenoiser
from entropic.theory.partitions import UNCONDITIONAL


import diffusers  # noqa: E402
from rounding import FLOAT32_ULP, float32_cumprod_rtol, float32_network_atol   # noqa: E402  (pytest puts tests/ on sys.path)
from sd15_tiny import build_tiny_pipeline   # noqa: E402
from snakemake_cli import snakemake   # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROMPT_FILE = ROOT / 'config' / 'prompts' / 'sd15.yaml'
TINY_PROMPTS = ['a photo of a dog', 'a photo of a cat', 'a red car']

def sd15_abar():
    """alpha_bar of SD1.5's scheduler config: scaled-linear betas from 0.00085 to 0.012 over 1000 timesteps."""
    return noise.ddpm_alphas_cumprod(1000, 0.00085, 0.012, 'scaled_linear')

def sd15_schedule(abar=None):
    """The grid SD1.5's scheduler config lays out: leading spacing, steps_offset 1."""
    return noise.DDPMSchedule(sd15_abar() if abar is None else abar, 'leading', 1)

def index(folder):
    return diffusers_folder.read_index(folder)[1]

def encode(folder, prompts):
    """The table of UNet inputs of the prompts and the empty reference (last row), as the pipeline encodes them."""
    return text_encoders.encode(folder, index(folder), prompts, {'resolution': 16, 'use_additional_conditions': False})

@pytest.fixture(scope='module')
def tiny_folder(tmp_path_factory):
    return build_tiny_pipeline(tmp_path_factory.mktemp('sd15') / 'tiny')

@pytest.fixture(scope='module')
def components(tiny_folder):
    """(unet, vae, tokenizer, text_encoder, abar) of the tiny pipeline, each read as the diffusers backend reads it."""
    unet = diffusers_folder.load_component(tiny_folder, 'unet', 'UNet2DConditionModel', 'cpu', torch.float32)
    vae = diffusers_folder.load_vae(tiny_folder / 'vae')
    (tokenizer, _), = text_encoders.tokenizers(tiny_folder, index(tiny_folder)).values()
    text_encoder = diffusers_folder.load_component(tiny_folder, 'text_encoder', 'CLIPTextModel', 'cpu', torch.float32,
                                                   library='transformers')
    abar = diffusers_folder.alphas_cumprod(diffusers_folder.scheduler_config(tiny_folder))
    return unet, vae, tokenizer, text_encoder, abar

@pytest.fixture(scope='module')
def tiny_denoiser(tiny_folder, components):
    unet, abar = components[0], components[-1]
    return DiffusersDenoiser(unet, encode(tiny_folder, TINY_PROMPTS), sd15_schedule(abar), 'epsilon', max_batch=64)

def latents(batch, sigma, seed=0):
    """x = x0 + sigma n in EDM coordinates, latents of the tiny UNet (4 x 8 x 8), float64."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 4, 8, 8, generator=g, dtype=torch.float64) * math.sqrt(1 + sigma ** 2)

#----------------------------------------------------------------------------
# The schedule.

def test_schedule_conversion_matches_diffusers_add_noise():
    # x_t / sqrt(abar_t) = x0 + sigma_t eps for diffusers' own forward noising. With diffusers' abar (float32,
    # used in float64 arithmetic) the identity holds to float64 rounding.
    sched = diffusers.DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule='scaled_linear')
    abar_diffusers = sched.alphas_cumprod.double().numpy()
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(6, 4, 3, 3, generator=g, dtype=torch.float64)
    eps = torch.randn(6, 4, 3, 3, generator=g, dtype=torch.float64)
    t = torch.tensor([0, 1, 100, 500, 998, 999])
    x_t = sched.add_noise(x0, eps, t)
    view = (-1, 1, 1, 1)
    sigma = torch.as_tensor(noise.DDPMSchedule(abar_diffusers).all_sigmas[t]).view(view)
    x_ve = x_t / torch.as_tensor(np.sqrt(abar_diffusers[t])).view(view)
    torch.testing.assert_close(x_ve, x0 + sigma * eps, rtol=1e-12, atol=1e-12)
    # Our float64 abar equals diffusers' float32 one up to the rounding of a float32 product of T = 1000
    # factors (relative error <= T u); with it the same identity holds to that relative error in sigma.
    abar = sd15_abar()
    T = len(abar)
    np.testing.assert_allclose(abar, abar_diffusers, rtol=T * FLOAT32_ULP, atol=0)
    ours = x0 + torch.as_tensor(sd15_schedule().all_sigmas[t]).view(view) * eps
    torch.testing.assert_close(x_ve, ours, rtol=0, atol=T * FLOAT32_ULP * float((sigma * eps.abs()).max()))

def test_sigma_range_matches_the_anchor_table():
    # sigma_t = sqrt((1 - alpha_bar) / alpha_bar) of SD1.5's scaled-linear schedule at t = 0, 100, 250, 500, 750, 999, to the digits of an independent computation from diffusers' SD v1 scheduler config (half a unit of the last).
    table = {0: (0.029, 3), 100: (0.344, 3), 250: (0.696, 3), 500: (1.618, 3), 750: (4.10, 2), 999: (14.6, 1)}
    sigmas = sd15_schedule().all_sigmas
    assert len(sigmas) == 1000 and np.all(np.diff(sigmas) > 0)
    for t, (value, decimals) in table.items():
        assert abs(sigmas[t] - value) <= 0.5 * 10.0 ** -decimals, (t, sigmas[t])

def test_timestep_for_sigma_inverts_integer_timesteps_exactly_and_is_monotone():
    schedule = sd15_schedule()
    sigmas = schedule.all_sigmas
    for t in (0, 1, 2, 17, 500, 998, 999):
        assert schedule.timestep(float(sigmas[t])) == t
    # Between integer steps: strictly increasing in sigma, and between the neighbouring integers.
    probe = np.exp(np.linspace(np.log(sigmas[0]), np.log(sigmas[-1]), 5001))
    ts = np.array([schedule.timestep(float(s)) for s in probe])
    assert np.all(np.diff(ts) > 0)
    t_mid = schedule.timestep(float(np.sqrt(sigmas[10] * sigmas[11])))    # geometric midpoint
    assert t_mid == pytest.approx(10.5, abs=1e-12)

@pytest.mark.parametrize('sigma', [0.01, 20.0, 80.0])
def test_timestep_for_sigma_outside_the_schedule_raises(sigma):
    with pytest.raises(ValueError, match=r'sigma = .* outside .*\[0\.029.*, 14\.6'):
        sd15_schedule().timestep(sigma)

def test_sampler_sigmas_for_100_steps():
    schedule = sd15_schedule()
    sigmas = schedule.sigmas({'steps': 100})
    assert len(sigmas) == 101 and sigmas[-1] == 0 and np.all(np.diff(sigmas) < 0)
    all_sigmas = schedule.all_sigmas
    assert sigmas[0] == all_sigmas[991] and sigmas[-2] == all_sigmas[1]
    # The same timesteps as diffusers' DDIM scheduler with SD1.5's config (leading spacing, steps_offset 1).
    ddim = diffusers.DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule='scaled_linear',
                                   steps_offset=1, set_alpha_to_one=False, clip_sample=False)
    ddim.set_timesteps(100)
    np.testing.assert_array_equal(sigmas[:-1], all_sigmas[ddim.timesteps.numpy()])
    with pytest.raises(ValueError, match='steps'):
        schedule.sigmas({'steps': 1000})

#----------------------------------------------------------------------------
# The denoiser.

def test_denoiser_equals_the_eps_to_x0_formula_of_a_direct_unet_call(components, tiny_denoiser):
    unet, abar = components[0], components[-1]
    emb = tiny_denoiser.table['encoder_hidden_states'][:3]      # the prompts' embeddings, rows 0..2
    for t in (3, 250, 999):
        sigma = float(tiny_denoiser.schedule.all_sigmas[t])
        g = torch.Generator().manual_seed(t)
        x_t = torch.randn(3, 4, 8, 8, generator=g)                  # float32: what the UNet sees
        with torch.no_grad():
            eps = unet(x_t, torch.tensor(t), encoder_hidden_states=emb).sample.double()
        x_t = x_t.double()
        expected = (x_t - math.sqrt(1 - abar[t]) * eps) / math.sqrt(abar[t])    # DDPM x0 estimate
        x = x_t / math.sqrt(abar[t])
        out = tiny_denoiser(x, sigma, torch.arange(3))
        assert out.dtype == torch.float64 and out.shape == x.shape
        # The denoiser rebuilds x_t in float64 and rounds it to the same float32 input (the float64 error,
        # ~1e-16, is far below half a float32 ulp), so only float64 rounding of the two formulas differs.
        torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12 * sigma)

def test_mixed_labels_in_one_call_equal_separate_calls_per_label(tiny_denoiser):
    sigma = 2.0
    x = latents(7, sigma).float()
    labels = torch.tensor([0, UNCONDITIONAL, 1, 2, 0, UNCONDITIONAL, 1])
    calls = []
    unet = tiny_denoiser.network
    hook = unet.register_forward_hook(lambda module, args, output: calls.append(len(args[0])))
    try:
        mixed = tiny_denoiser(x, sigma, labels)
        assert calls == [7]                                         # one UNet call for the whole batch
        separate = torch.empty_like(x)
        for label in labels.unique():
            rows = labels == label
            separate[rows] = tiny_denoiser(x[rows], sigma, labels[rows])
        chunked_denoiser = copy.copy(tiny_denoiser)
        chunked_denoiser.max_batch = 3
        calls.clear()
        chunked = chunked_denoiser(x, sigma, labels)
        assert calls == [3, 3, 1]
    finally:
        hook.remove()
    # float32 eps from batches of other sizes may differ by the rounding of reductions done in another order,
    # accumulated over the UNet's ~20 layers (measured: ~7 ulps): allow 64 float32 ulps of the largest |eps|,
    # times sigma (x0 = x - sigma eps).
    eps_scale = float(((x - mixed) / sigma).abs().max())
    tol = sigma * eps_scale * 64 * FLOAT32_ULP
    torch.testing.assert_close(mixed, separate, rtol=0, atol=tol)
    torch.testing.assert_close(mixed, chunked, rtol=0, atol=tol)
    # Not vacuous: the prompts and the empty prompt give different estimates, by far more than the tolerance.
    by_label = [tiny_denoiser(x[:1], sigma, torch.tensor([k])) for k in (0, 1, 2, UNCONDITIONAL)]
    for a in range(4):
        for b in range(a + 1, 4):
            assert (by_label[a] - by_label[b]).abs().max() > 100 * tol

def test_encode_prompts_matches_the_diffusers_pipeline(tiny_folder, components):
    unet, vae, tokenizer, text_encoder, _ = components
    pipe = diffusers.StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                             scheduler=diffusers.DDIMScheduler(steps_offset=1, clip_sample=False), safety_checker=None,
                                             feature_extractor=None, requires_safety_checker=False)
    cond, uncond = pipe.encode_prompt(TINY_PROMPTS[:2], 'cpu', 1, True, None)
    ours = encode(tiny_folder, TINY_PROMPTS[:2])['encoder_hidden_states']
    assert ours.shape == (3, 77, 8)
    # We encode the three prompts in one batch, diffusers the two prompts and the empty ones apart: the same
    # tokens through GEMMs of other shapes, which may sum in another order (exact on some CPUs, 7 float32
    # units apart under MKL's CBWR mode): float32 rounding of the encoder, not a difference of method.
    torch.testing.assert_close(ours[:2], cond, rtol=0, atol=float32_network_atol(cond))
    torch.testing.assert_close(ours[2], uncond[0], rtol=0, atol=float32_network_atol(uncond))

def test_denoiser_rejects_bad_labels_and_the_sampler_reports_nan(components, tiny_denoiser):
    x = latents(2, 1.0)
    with pytest.raises(ValueError, match='labels'):
        tiny_denoiser(x, 1.0, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match='sigma'):
        tiny_denoiser(x, 50.0, torch.tensor([0, 1]))
    assert tiny_denoiser.num_classes == len(TINY_PROMPTS)
    # A NaN from the UNet is caught where every backend's is, in the sampler, which names sigma and hypothesis.
    broken = copy.copy(tiny_denoiser)
    broken.network = copy.deepcopy(tiny_denoiser.network)
    with torch.no_grad():
        broken.network.conv_out.bias.fill_(float('nan'))
    sigmas = tiny_denoiser.schedule.sigmas({'steps': 4})
    with pytest.raises(FloatingPointError, match=rf'sigma = {sigmas[0]:.6g} \(step 0 of 4\) for hypothesis 0'):
        sampler.sample(broken, sigmas, torch.tensor([0, 1]), latents(2, 0.0) * sigmas[0],
                       torch.Generator().manual_seed(0), hypotheses=[0, 1, UNCONDITIONAL])

def test_sampler_with_the_sd15_denoiser_gives_finite_log_posteriors(tiny_denoiser):
    sigmas = tiny_denoiser.schedule.sigmas({'steps': 4})
    labels = torch.tensor([0, 1, UNCONDITIONAL])
    x_init = latents(3, 0.0) * sigmas[0]
    out = sampler.sample(tiny_denoiser, sigmas, labels, x_init, torch.Generator().manual_seed(0),
                         guidance=sampler.Guidance(scale=2.0), hypotheses=[0, 1, UNCONDITIONAL])
    assert out['log_posterior'].shape == (4, 3, 3)
    assert torch.isfinite(out['log_posterior']).all() and torch.isfinite(out['x']).all()
    torch.testing.assert_close(out['log_posterior'].exp().sum(-1), torch.ones(4, 3, dtype=torch.float64))

#----------------------------------------------------------------------------
# Loading and decoding.

def test_the_components_of_the_tiny_pipeline_load_as_the_backend_reads_them(components):
    unet, vae, tokenizer, text_encoder, abar = components
    assert isinstance(unet, diffusers.UNet2DConditionModel) and isinstance(vae, diffusers.AutoencoderKL)
    assert tokenizer.model_max_length == 77 and unet.dtype == torch.float32
    np.testing.assert_array_equal(abar, sd15_abar())
    assert not any(p.requires_grad for net in (unet, vae, text_encoder) for p in net.parameters())

def test_load_denoiser_builds_the_denoiser_of_the_prompts_from_the_folder(tiny_folder, tiny_denoiser):
    den, pipeline = diffusers_pipeline.load_denoiser(tiny_folder, TINY_PROMPTS, device='cpu', dtype=torch.float32)
    assert den.num_classes == 3 and den.prediction_type == 'epsilon' and isinstance(den.network, diffusers.UNet2DConditionModel)
    assert pipeline.conditioning == 'prompts' and pipeline.factor == 2 and pipeline.shape() == (4, 8, 8)
    assert set(den.table) == {'encoder_hidden_states'}
    torch.testing.assert_close(den.table['encoder_hidden_states'], tiny_denoiser.table['encoder_hidden_states'],
                               rtol=0, atol=0)
    np.testing.assert_array_equal(den.schedule.abar, sd15_abar())
    assert (den.schedule.spacing, den.schedule.steps_offset) == ('leading', 1)

def test_missing_folder_or_file_raises_file_not_found_mentioning_the_download(tiny_folder, tmp_path):
    def load(folder):
        return diffusers_pipeline.load_denoiser(folder, TINY_PROMPTS, device='cpu', dtype=torch.float32)
    with pytest.raises(FileNotFoundError, match=r'nowhere/model_index\.json: not found; run the download rule'):
        load(tmp_path / 'nowhere')
    partial = tmp_path / 'partial'
    shutil.copytree(tiny_folder, partial)
    (partial / 'unet' / 'diffusion_pytorch_model.safetensors').unlink()
    with pytest.raises(FileNotFoundError, match=r'partial/unet: cannot load the UNet2DConditionModel .*download rule'):
        load(partial)
    shutil.rmtree(partial / 'tokenizer')
    with pytest.raises(FileNotFoundError, match=r'partial/tokenizer: no vocabulary .*download rule'):
        load(partial)

def with_scheduler_config(tiny_folder, folder, **changes):
    """A copy of the tiny pipeline whose scheduler config has `changes` (a value None removes the key)."""
    shutil.copytree(tiny_folder, folder)
    path = folder / 'scheduler' / 'scheduler_config.json'
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps({k: v for k, v in config.items() if v is not None}))
    return folder

# Every key of diffusers' DDIMScheduler config that changes which noise levels are visited or how the UNet's
# output is read, set to a value the backend cannot honour: refused, naming the file, the key and what it supports
# (and, for an absent key, that the value is the scheduler class's default).
@pytest.mark.parametrize('key, value, supported', [
    ('timestep_spacing', 'karras', "'leading', 'trailing', 'linspace'"),
    ('clip_sample', True, 'only False'), ('thresholding', True, 'only False'),
    ('clip_sample', None, 'only False'),    # absent: DDIMScheduler's default, True
])
def test_scheduler_keys_the_backend_cannot_honour_are_refused(tiny_folder, tmp_path, key, value, supported):
    folder = with_scheduler_config(tiny_folder, tmp_path / 'other', **{key: value})
    absent = re.escape(" (the DDIMScheduler's default for an absent key)") if value is None else ''
    with pytest.raises(ValueError, match=rf"other/scheduler/scheduler_config\.json: scheduler config key '{key}' is "
                                         rf"[^;(]*{absent}; the diffusers backend supports {re.escape(supported)}"):
        diffusers_pipeline.load_denoiser(folder, TINY_PROMPTS, device='cpu', dtype=torch.float32)

# What the SD1.5 backend once refused and the diffusers backend it is a preset of honours, as diffusers' DDIM
# scheduler reads the same config: other betas, v-prediction and zero terminal SNR.
@pytest.mark.parametrize('changes', [
    dict(beta_schedule='linear', beta_start=0.0001, beta_end=0.02), dict(trained_betas=[0.01] * 1000),
    dict(prediction_type='v_prediction'), dict(rescale_betas_zero_snr=True),
])
def test_scheduler_keys_sd15_once_refused_are_read_as_diffusers_reads_them(tiny_folder, tmp_path, changes):
    folder = with_scheduler_config(tiny_folder, tmp_path / 'other', **changes)
    den, _ = diffusers_pipeline.load_denoiser(folder, TINY_PROMPTS, device='cpu', dtype=torch.float32)
    ddim = diffusers.DDIMScheduler.from_pretrained(folder / 'scheduler')
    theirs = ddim.alphas_cumprod.double().numpy()
    assert den.prediction_type == ddim.config.prediction_type == changes.get('prediction_type', 'epsilon')
    if changes.get('rescale_betas_zero_snr'):        # its float32 rounding: tests/test_sd21.py
        assert den.schedule.abar[-1] == theirs[-1] == 0 and den.schedule.all_sigmas[-1] == math.inf
        np.testing.assert_array_equal(den.schedule.abar, noise.rescale_zero_terminal_snr(sd15_abar()))
    else:
        ours = den.schedule.abar
        error = np.abs(ours / theirs - 1)
        assert np.all(error <= float32_cumprod_rtol(1 - ours / np.append(1.0, ours[:-1]))), error.max()
    if 'prediction_type' not in changes:             # not vacuous: another schedule than SD1.5's
        assert np.abs(den.schedule.abar / sd15_abar() - 1).max() > 1e-3

@pytest.mark.parametrize('config', [
    dict(timestep_spacing='trailing'), dict(timestep_spacing='linspace'), dict(timestep_spacing='leading', steps_offset=0),
    dict(timestep_spacing=None, steps_offset=1),                        # SD1.5's own: no key, leading spacing
])
def test_the_sampler_visits_the_timesteps_diffusers_visits_for_the_folders_config(tiny_folder, tmp_path, config):
    folder = with_scheduler_config(tiny_folder, tmp_path / 'spaced', **config)
    denoiser, _ = diffusers_pipeline.load_denoiser(folder, TINY_PROMPTS, device='cpu', dtype=torch.float32)
    ddim = diffusers.DDIMScheduler.from_pretrained(folder / 'scheduler')
    all_sigmas = sd15_schedule().all_sigmas
    for steps in (1, 4, 10, 50, 999):
        ddim.set_timesteps(steps)
        sigmas = denoiser.schedule.sigmas(dict(steps=steps))
        np.testing.assert_array_equal(sigmas, np.append(all_sigmas[ddim.timesteps.numpy()], 0.0))
    if config.get('timestep_spacing') == 'trailing':     # the case of the bug report: 999, 899, ..., 99
        ddim.set_timesteps(10)
        assert ddim.timesteps.tolist() == list(range(999, 0, -100))

def test_decode_returns_images_in_the_unit_range(components):
    vae = components[1]
    images = diffusers_folder.decode(vae, latents(3, 0.0, seed=1).float() * 3, max_batch=2)     # * 3: some pixels clip
    assert images.shape == (3, 16, 16, 3) and images.dtype == np.float32        # the tiny VAE upsamples by 2
    assert images.min() >= 0 and images.max() <= 1

#----------------------------------------------------------------------------
# Prompt files.

def test_read_prompt_file_on_the_shipped_prompts():
    prompts, partitions = text_encoders.read_prompt_file(PROMPT_FILE)
    assert 6 <= len(prompts) <= 8 and '' not in prompts and len(set(prompts)) == len(prompts)
    assert partitions['dog-vs-cat'] == [[prompts.index('a photo of a dog')], [prompts.index('a photo of a cat')]]
    assert partitions['dog-vs-reference'][1] == [UNCONDITIONAL]
    assert {'animals-vs-vehicles', 'red-vs-blue-car'} <= set(partitions)

BAD_FILES = {
    'empty-prompt': ('prompts: ["a dog", ""]\npartitions: {p: [[0], [1]]}\n', r'prompts\[1\] is empty'),
    'repeated-prompt': ('prompts: ["a dog", "a dog"]\npartitions: {p: [[0], [1]]}\n', r'prompts\[1\] repeats'),
    'unknown-index': ('prompts: ["a dog", "a cat"]\npartitions: {pets: [[0], [5]]}\n', r"partition 'pets'.*unknown member 5"),
    'unknown-text': ('prompts: ["a dog", "a cat"]\npartitions: {pets: [[a dog], [a cow]]}\n', r"partition 'pets'.*'a cow'"),
    'duplicate-member': ('prompts: ["a dog", "a cat"]\npartitions: {pets: [[0, 1], [a dog]]}\n',
                         r"partition 'pets'.*more than one cell"),
    'missing-key': ('prompts: ["a dog", "a cat"]\n', r'keys prompts and partitions'),
}

@pytest.mark.parametrize('case', BAD_FILES)
def test_bad_prompt_files_raise_errors_naming_file_and_partition(tmp_path, case):
    text, message = BAD_FILES[case]
    path = tmp_path / f'{case}.yaml'
    path.write_text(text)
    with pytest.raises(ValueError, match=rf'{case}\.yaml.*{message}'):
        text_encoders.read_prompt_file(path)

#----------------------------------------------------------------------------
# Prompts the text encoder cannot tell apart (it reads 77 tokens: BOS, 75 tokens of the prompt, EOS).

LONG = ' '.join(['dog'] * 25)      # 75 tokens with the tiny tokenizer (one per letter): all the encoder reads

def test_prompts_that_differ_only_after_the_77th_token_are_refused_before_sampling(tiny_folder, components):
    prompts = [f'{LONG} and a red collar', 'a cat', f'{LONG} and a blue collar']
    # The fault: their embeddings are identical, so the partition between them could never speciate.
    tokenizer, text_encoder = components[2], components[3]
    tokens = tokenizer(prompts, padding='max_length', max_length=77, truncation=True, return_tensors='pt')
    with torch.no_grad():
        embeddings = text_encoder(tokens.input_ids).last_hidden_state
    assert torch.equal(embeddings[0], embeddings[2])
    message = (rf"prompts\[0\] '{LONG} and a red collar' and prompts\[2\] '{LONG} and a blue collar' are the same "
               r"hypothesis to the text encoder: identical after tokenisation and truncation to 77 tokens")
    with pytest.raises(ValueError, match=message):                   # what the partitions job checks
        text_encoders.check_prompts(tiny_folder, index(tiny_folder), prompts, 'prompts.yaml')
    with pytest.raises(ValueError, match=message):                   # what every sampling job loads
        diffusers_pipeline.load_denoiser(tiny_folder, prompts, device='cpu', dtype=torch.float32)

def test_a_truncated_prompt_is_named_with_the_words_the_encoder_drops(tiny_folder, caplog):
    prompts = [f'{LONG} and a red collar', 'a cat']
    warnings = text_encoders.check_prompts(tiny_folder, index(tiny_folder), prompts, 'prompts.yaml')
    assert warnings == ["prompts.yaml: prompts[0] is 90 tokens long and the text encoder reads 77: it drops "
                        "'and a red collar'"]
    assert text_encoders.check_prompts(tiny_folder, index(tiny_folder), [LONG, 'a cat'], 'prompts.yaml') == []  # 77: kept
    with caplog.at_level('WARNING', logger='entropic'):                  # what every sampling job loads
        diffusers_pipeline.load_denoiser(tiny_folder, prompts, device='cpu', dtype=torch.float32, source='prompts.yaml')
    assert warnings[0] in caplog.text

def test_the_partitions_job_refuses_prompts_the_downloaded_tokenizer_cannot_tell_apart(tiny_folder, tmp_path):
    # The tokenizer is read by the first job that has the pipeline, rule model_partitions (priority over the
    # sampling jobs, which refuse the same prompts when they encode them), not by the config check.
    import yaml
    shutil.copytree(tiny_folder, tmp_path / 'resources' / 'stable-diffusion-v1-5')
    prompt_file = tmp_path / 'prompts.yaml'
    prompt_file.write_text(yaml.safe_dump({'prompts': [f'{LONG} and a red collar', 'a cat', f'{LONG} and a blue collar'],
                                           'partitions': {'collars': [[0], [2]]}}))
    config = tmp_path / 'config.yaml'
    config.write_text(yaml.safe_dump({'models': {'sd': {'backend': 'sd15', 'prompts': str(prompt_file),
                                                        'sampler': {'steps': 10}, 'trajectories': 8}}}))
    planned = snakemake(tmp_path, '-n', configfiles=[config])
    assert planned.returncode == 0, planned.stderr[-3000:]
    run = snakemake(tmp_path, 'results/models/sd/partitions.json', configfiles=[config])
    assert run.returncode != 0
    log = (tmp_path / 'results' / 'logs' / 'model_partitions' / 'sd.log').read_text()
    assert (f"{prompt_file}: prompts[0] '{LONG} and a red collar' and prompts[2] '{LONG} and a blue collar' are the "
            'same hypothesis to the text encoder' in log + run.stderr), (log + run.stderr)[-3000:]
    assert not (tmp_path / 'results' / 'models' / 'sd' / 'partitions.json').exists()

def test_the_partitions_job_reads_the_tokenizer_and_warns_of_a_truncated_prompt(tiny_folder, tmp_path):
    import yaml
    shutil.copytree(tiny_folder, tmp_path / 'resources' / 'stable-diffusion-v1-5')
    prompt_file = tmp_path / 'prompts.yaml'
    prompt_file.write_text(yaml.safe_dump({'prompts': [f'{LONG} and a red collar', 'a cat'],
                                           'partitions': {'dog-vs-cat': [[0], [1]]}}))
    config = tmp_path / 'config.yaml'
    config.write_text(yaml.safe_dump({'models': {'sd': {'backend': 'sd15', 'prompts': str(prompt_file),
                                                        'sampler': {'steps': 10}, 'trajectories': 6}}}))
    run = snakemake(tmp_path, 'results/models/sd/partitions.json', configfiles=[config])
    assert run.returncode == 0, run.stderr[-3000:]
    log = (tmp_path / 'results' / 'logs' / 'model_partitions' / 'sd.log').read_text()
    assert f"{prompt_file}: prompts[0] is 90 tokens long and the text encoder reads 77: it drops 'and a red collar'" in log
