"""The Stable Diffusion 3 preset of the diffusers backend: the flow in EDM coordinates against diffusers' pipeline on a
tiny one, the three text encoders, the folder checks (scheduler keys, guidance-distilled models), prompts and
decoding (entropic.networks.diffusers_pipeline, diffusers_denoiser, text_encoders, diffusers_folder).

Everything runs offline on the CPU against a tiny pipeline built from configs (tests/sd3_tiny.py).
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

from entropic.files import download
from entropic.theory import noise
from entropic.method import sampler
from entropic.pipeline.configuration import validate_config
from entropic.networks import diffusers_folder, diffusers_pipeline, text_encoders
from entropic.theory.partitions import UNCONDITIONAL

import diffusers  # noqa: E402
from rounding import FLOAT32_ULP, float32_network_atol   # noqa: E402  (pytest puts tests/ on sys.path)
from sd3_tiny import build_tiny_pipeline   # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROMPTS = ['a photo of a dog', 'a photo of a cat', 'a red car']
SHAPE = (4, 8, 8)                       # the tiny transformer's latents at 16 px (the tiny VAE downsamples by 2)

@pytest.fixture(scope='module')
def tiny_folder(tmp_path_factory):
    return build_tiny_pipeline(tmp_path_factory.mktemp('sd3') / 'tiny')

def index(folder):
    return diffusers_folder.read_index(folder)[1]

def encode(folder, prompts):
    """The table of transformer inputs of the prompts and the empty reference (last row), as the pipeline builds it."""
    return text_encoders.encode(folder, index(folder), prompts, {'resolution': 16})

def load_denoiser(folder, prompts, **kwargs):
    """The denoiser a sampling job loads from the folder (diffusers_pipeline.load_denoiser), on the CPU in float32."""
    return diffusers_pipeline.load_denoiser(folder, prompts, device='cpu', dtype=torch.float32, **kwargs)[0]

@pytest.fixture(scope='module')
def tokenizers(tiny_folder):
    return text_encoders.tokenizers(tiny_folder, index(tiny_folder))

@pytest.fixture(scope='module')
def denoiser(tiny_folder):
    return load_denoiser(tiny_folder, PROMPTS, max_batch=64)

@pytest.fixture(scope='module')
def pipeline(tiny_folder):
    return diffusers.StableDiffusion3Pipeline.from_pretrained(tiny_folder, torch_dtype=torch.float32,
                                                              local_files_only=True)

def latents(batch, seed=0, dtype=torch.float32):
    return torch.randn(batch, *SHAPE, generator=torch.Generator().manual_seed(seed), dtype=dtype)

#----------------------------------------------------------------------------
# The pipeline folder.

def test_the_tiny_pipeline_holds_every_file_the_download_rule_fetches(tiny_folder):
    written = {str(p.relative_to(tiny_folder)) for p in tiny_folder.rglob('*') if p.is_file()}
    assert written == set(download.SD3_FILES)

def with_json(tiny_folder, folder, name, **changes):
    """A copy of the tiny pipeline whose JSON file `name` has `changes` (a value None removes the key)."""
    shutil.copytree(tiny_folder, folder)
    path = folder / name
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps({k: v for k, v in config.items() if v is not None}))
    return folder

# Every key of FlowMatchEulerDiscreteScheduler's config that changes which noise levels are visited, set to a
# value the backend does not honour: refused, naming the key and what it supports.
@pytest.mark.parametrize('key, value', [('use_dynamic_shifting', True), ('invert_sigmas', True),
                                        ('shift_terminal', 0.1), ('use_karras_sigmas', True),
                                        ('use_exponential_sigmas', True), ('use_beta_sigmas', True)])
def test_scheduler_keys_the_backend_cannot_honour_are_refused(tiny_folder, tmp_path, key, value):
    folder = with_json(tiny_folder, tmp_path / 'other', 'scheduler/scheduler_config.json', **{key: value})
    with pytest.raises(ValueError, match=rf"other/scheduler/scheduler_config\.json: scheduler config key '{key}' is "
                                         rf"{value!r}; the diffusers backend supports only (False|None): "):
        load_denoiser(folder, PROMPTS)

def test_another_scheduler_or_pipeline_class_is_refused(tiny_folder, tmp_path):
    folder = with_json(tiny_folder, tmp_path / 'euler', 'scheduler/scheduler_config.json',
                       _class_name='EulerDiscreteScheduler')
    with pytest.raises(ValueError, match='euler/scheduler: a EulerDiscreteScheduler for a SD3Transformer2DModel; the '
                                         'backend reads FlowMatchEulerDiscreteScheduler configs with SD3 transformers'):
        diffusers_pipeline.describe(folder)
    # A pipeline class that encodes prompts otherwise (one CLIP, no pooled projections) for an SD3 transformer
    folder = with_json(tiny_folder, tmp_path / 'sd15', 'model_index.json', _class_name='StableDiffusionPipeline')
    with pytest.raises(ValueError, match='sd15/model_index.json: a StableDiffusionPipeline with a SD3Transformer2DModel; '
                                         'the backend encodes the prompts of a SD3Transformer2DModel as '
                                         'StableDiffusion3Pipeline does'):
        diffusers_pipeline.describe(folder)

def test_a_guidance_distilled_pipeline_is_refused(tmp_path):
    # A FLUX.1-dev-like pipeline: the transformer config's guidance_embeds makes the guidance scale an input.
    folder = build_tiny_pipeline(tmp_path / 'distilled', guidance_embeds=True)
    message = (r'distilled: the pipeline is guidance-distilled \(its transformer config sets guidance_embeds: the '
               r'guidance scale is an input of the network\): it was never trained without its condition, so it has no '
               r"unconditional branch, and neither the paper's binary form <k>-vs-reference")
    with pytest.raises(ValueError, match=message):
        load_denoiser(folder, PROMPTS)

@pytest.mark.parametrize('steps', [1, 4, 28, 100])
@pytest.mark.parametrize('config', [dict(), dict(shift=1.0), dict(shift=6.0, num_train_timesteps=500)])
def test_the_sampler_visits_the_flow_times_diffusers_visits_for_the_folders_config(tiny_folder, tmp_path, config,
                                                                                   steps):
    folder = tmp_path / 'grid'
    if not folder.exists():
        with_json(tiny_folder, folder, 'scheduler/scheduler_config.json', **config)
    scheduler = diffusers.FlowMatchEulerDiscreteScheduler.from_pretrained(folder / 'scheduler')
    scheduler.set_timesteps(steps)
    schedule = diffusers_folder.noise_process(diffusers_folder.scheduler_config(folder))
    np.testing.assert_array_equal(schedule.flow_times(steps), scheduler.sigmas.numpy()[:-1].astype(np.float64))
    sigmas = schedule.sigmas(dict(steps=steps))
    network = [schedule.network_timestep(sigma) for sigma in sigmas[:-1]]
    np.testing.assert_array_equal(network, scheduler.timesteps.numpy())
    assert schedule.shift == config.get('shift', 3.0) and sigmas[-1] == 0

def test_latent_shape_of_the_tiny_and_of_sd3_medium(tiny_folder, tmp_path):
    tiny = diffusers_pipeline.describe(tiny_folder)
    assert tiny.shape(16) == tiny.shape() == SHAPE         # 16 px: the native size, 8 x 8 latents
    with pytest.raises(ValueError, match=r'resolution 18: must be a multiple of 4 for .*tiny \(the VAE downsamples by '
                                         r'2, the network takes 2 x 2 patches\)'):
        tiny.shape(18)
    with pytest.raises(ValueError, match='resolution 36: the transformer of .*tiny has positional embeddings for at '
                                         'most 32 px'):
        tiny.shape(36)
    # SD3 Medium's published configs (transformer/config.json, vae/config.json of the hub repository), the keys read.
    medium = tmp_path / 'medium'
    shutil.copytree(tiny_folder, medium)
    (medium / 'transformer' / 'config.json').write_text(json.dumps(dict(
        _class_name='SD3Transformer2DModel', sample_size=128, patch_size=2, in_channels=16, out_channels=16,
        pos_embed_max_size=192)))
    (medium / 'vae' / 'config.json').write_text(json.dumps(dict(block_out_channels=[128, 256, 512, 512],
                                                                latent_channels=16)))
    medium = diffusers_pipeline.describe(medium)
    assert medium.shape(1024) == medium.shape() == (16, 128, 128)
    assert medium.shape(512) == (16, 64, 64)
    assert medium.shape(3072) == (16, 384, 384)
    with pytest.raises(ValueError, match='at most 3072 px'):
        medium.shape(3088)

def test_missing_folder_or_file_raises_file_not_found_naming_the_download(tiny_folder, tmp_path):
    with pytest.raises(FileNotFoundError, match=r'nowhere/model_index\.json: not found; run the download rule'):
        load_denoiser(tmp_path / 'nowhere', PROMPTS)
    partial = tmp_path / 'partial'
    shutil.copytree(tiny_folder, partial)
    (partial / 'text_encoder_3' / 'model-00002-of-00002.safetensors').unlink()
    with pytest.raises(FileNotFoundError, match=r'text_encoder_3: cannot load the T5EncoderModel .*download rule'):
        load_denoiser(partial, PROMPTS)
    (partial / 'tokenizer_3' / 'tokenizer.json').unlink()
    # (transformers 5 builds a T5 tokenizer of its special tokens alone from the folder without it)
    with pytest.raises(FileNotFoundError, match=r'tokenizer_3: no vocabulary \(tokenizer\.json or spiece\.model '
                                                r'missing\); .*download rule'):
        load_denoiser(partial, PROMPTS)

#----------------------------------------------------------------------------
# Text.

def test_encode_prompts_matches_the_diffusers_pipeline(tiny_folder, pipeline):
    table = encode(tiny_folder, PROMPTS[:2])
    ours, pooled = table['encoder_hidden_states'], table['pooled_projections']
    assert ours.shape == (3, 77 + 256, 24) and pooled.shape == (3, 8 + 12)
    with torch.no_grad():       # as the pipeline's __call__ runs it
        cond, uncond, cond_pooled, uncond_pooled = pipeline.encode_prompt(PROMPTS[:2], None, None, device='cpu')
    # We encode the prompts and the empty one in one batch, diffusers apart: the same tokens through GEMMs of
    # other shapes, which may sum in another order; float32 rounding of the encoders (tests/rounding.py).
    for mine, theirs in ((ours[:2], cond), (ours[2], uncond[0]), (pooled[:2], cond_pooled), (pooled[2], uncond_pooled[0])):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=float32_network_atol(theirs))
    # Not vacuous: the three parts are there, and the CLIP widths (8 + 12) are zero-padded to T5's (24).
    assert (ours[:, :77, 20:] == 0).all() and (ours[:, :77, :20] != 0).any() and (ours[:, 77:] != 0).any()

LONG = ' '.join(['dog'] * 25)       # 75 CLIP tokens with the tiny tokenizers (one per letter): all CLIP reads

def test_prompts_that_differ_beyond_what_clip_reads_are_told_apart_by_t5(tiny_folder, tokenizers, caplog):
    prompts = [f'{LONG} and a red collar', 'a cat', f'{LONG} and a blue collar']
    warnings = text_encoders.check_encoder_tokens(tokenizers, prompts, 'prompts.yaml')
    assert warnings == [f"prompts.yaml: prompts[{k}] is {n} tokens long and {name} reads 77: it drops "   # + BOS, EOS
                        f"'and a {colour} collar'" for name in ('CLIP-L', 'CLIP-G')
                        for k, colour, n in ((0, 'red', 90), (2, 'blue', 91))]
    table = encode(tiny_folder, prompts)
    embeddings, pooled = table['encoder_hidden_states'], table['pooled_projections']
    # the same CLIP tokens (to float32 rounding of rows in one batch), other T5 tokens: other hypotheses
    tol = float32_network_atol(embeddings)
    torch.testing.assert_close(embeddings[0, :77], embeddings[2, :77], rtol=0, atol=tol)
    torch.testing.assert_close(pooled[0], pooled[2], rtol=0, atol=float32_network_atol(pooled))
    assert (embeddings[0, 77:] - embeddings[2, 77:]).abs().max() > 100 * tol

def test_prompts_none_of_the_three_encoders_can_tell_apart_are_refused(tiny_folder):
    longer = ' '.join(['dog'] * 90)     # 270 T5 tokens (3 a word): beyond the 256 T5 reads
    prompts = [f'{longer} and a red collar', 'a cat', f'{longer} and a blue collar']
    message = (rf"prompts\[0\] '{longer} and a red collar' and prompts\[2\] '{longer} and a blue collar' are the same "
               r"hypothesis to the text encoders \(CLIP-L, CLIP-G, T5\): identical after tokenisation and truncation "
               r"to 77, 77 and 256 tokens; make them differ within what the encoders read")
    with pytest.raises(ValueError, match=message):
        load_denoiser(tiny_folder, prompts)

#----------------------------------------------------------------------------
# The denoiser.

def test_denoiser_is_x_t_minus_t_v_of_a_direct_transformer_call_at_the_pipelines_timesteps(denoiser):
    transformer = denoiser.network
    embeddings, pooled = denoiser.table['encoder_hidden_states'], denoiser.table['pooled_projections']
    seen = []
    hook = transformer.register_forward_hook(lambda m, args, kwargs, out: seen.append(kwargs['timestep'].clone()),
                                             with_kwargs=True)
    scheduler = diffusers.FlowMatchEulerDiscreteScheduler(shift=3.0)
    scheduler.set_timesteps(28)
    sigmas = denoiser.schedule.sigmas(dict(steps=28))
    try:
        for i in (0, 1, 13, 27):           # t = 1 (sigma = inf), the next level, the middle and the lowest
            sigma, t = float(sigmas[i]), float(scheduler.sigmas[i])
            x_t = latents(3, seed=i)                                   # float32: what the transformer sees
            with torch.no_grad():
                v = transformer(hidden_states=x_t, timestep=scheduler.timesteps[i].expand(3),
                                encoder_hidden_states=embeddings[:3], pooled_projections=pooled[:3]).sample
            expected = x_t.double() - t * v.double()                   # the flow's x0 estimate
            x = x_t.double() if math.isinf(sigma) else x_t.double() * (1 + sigma)    # the sampler's state
            seen.clear()
            out = denoiser(x, sigma, torch.arange(3))
            assert out.dtype == torch.float64 and out.shape == x.shape
            assert torch.equal(seen[0], scheduler.timesteps[i].expand(3))   # the pipeline's network time, float32
            # x / (1 + sigma) rounds to the same float32 input (its float64 error is far below half a float32 ulp),
            # so the same transformer output: only float64 rounding of x_t - t v differs.
            torch.testing.assert_close(out, expected, rtol=0, atol=1e-12 * float(expected.abs().max()))
    finally:
        hook.remove()

def test_mixed_labels_in_one_call_equal_separate_calls_per_label(denoiser):
    sigma = 2.0
    x = latents(7) * (1 + sigma)
    labels = torch.tensor([0, UNCONDITIONAL, 1, 2, 0, UNCONDITIONAL, 1])
    calls = []
    hook = denoiser.network.register_forward_hook(lambda m, args, kwargs, out: calls.append(len(args[0])),
                                                  with_kwargs=True)
    try:
        mixed = denoiser(x, sigma, labels)
        assert calls == [7]                                         # one transformer call for the whole batch
        separate = torch.empty_like(x)
        for label in labels.unique():
            rows = labels == label
            separate[rows] = denoiser(x[rows], sigma, labels[rows])
        chunked = copy.copy(denoiser)
        chunked.max_batch = 3
        calls.clear()
        in_chunks = chunked(x, sigma, labels)
        assert calls == [3, 3, 1]
    finally:
        hook.remove()
    # float32 v from batches of other sizes: rounding of reductions in another order (tests/rounding.py), times
    # t <= 1 (x0 = x_t - t v), on top of x_t's own scale.
    tol = float32_network_atol(mixed - x / (1 + sigma))
    torch.testing.assert_close(mixed, separate, rtol=0, atol=tol)
    torch.testing.assert_close(mixed, in_chunks, rtol=0, atol=tol)
    by_label = [denoiser(x[:1], sigma, torch.tensor([k])) for k in (0, 1, 2, UNCONDITIONAL)]
    for a in range(4):              # not vacuous: every prompt and the empty one differ by far more
        for b in range(a + 1, 4):
            assert (by_label[a] - by_label[b]).abs().max() > 100 * tol

@pytest.mark.parametrize('scale', [1.0, 4.0])
def test_every_step_and_the_guided_output_agree_with_the_diffusers_pipeline(pipeline, denoiser, scale):
    # The pipeline's Euler step x_t' = x_t + (t' - t) v is the deterministic DDIM step in EDM coordinates,
    # x' = D + (sigma' / sigma) (x - D), and from sigma = inf (t = 1, the state standardised: x_t = eps) its
    # limit x' = D + sigma' eps. Each step is started from the pipeline's own latents, with the guided estimate
    # D_u + w (D_c - D_u) of our denoiser (the same as guiding v, both linear at one t).
    steps, prompts = 5, PROMPTS[:2]
    states = [latents(2, seed=7)]
    pipeline(prompt=prompts, num_inference_steps=steps, guidance_scale=scale, latents=states[0].clone(), height=16,
             width=16, output_type='latent',
             callback_on_step_end=lambda p, i, t, kw: states.append(kw['latents'].clone()) or {})
    sigmas = denoiser.schedule.sigmas(dict(steps=steps))
    for i in range(steps):
        sigma, sigma_next = float(sigmas[i]), float(sigmas[i + 1])
        x = states[i].double() if math.isinf(sigma) else states[i].double() * (1 + sigma)
        D_c = denoiser(x, sigma, torch.arange(2))
        D_u = denoiser(x, sigma, torch.full((2,), UNCONDITIONAL))
        D = D_c if scale == 1 else D_u + scale * (D_c - D_u)
        x_next = D + sigma_next * x if math.isinf(sigma) else D + sigma_next / sigma * (x - D)
        ours = x_next / (1 + sigma_next)
        # The pipeline runs the branches in one batch of 4 rows, we in two of 2: float32 network rounding of v
        # (tests/rounding.py) in each branch, (|1 - w| + |w|) of it in the guided v, times |t' - t| <= 1; and the
        # pipeline's float32 update (one rounding of the new state, 2 ulps with its product).
        v = (states[i + 1] - states[i]) / (noise.sigma_to_flow_time(sigma_next) - noise.sigma_to_flow_time(sigma))
        tol = (abs(1 - scale) + abs(scale)) * float32_network_atol(v) + 2 * FLOAT32_ULP * float(states[i + 1].abs().max())
        torch.testing.assert_close(ours, states[i + 1].double(), rtol=0, atol=tol)

def test_the_sampler_tracks_every_prompt_from_pure_noise_and_names_a_nan(denoiser):
    sigmas = denoiser.schedule.sigmas(dict(steps=4))
    labels = torch.tensor([0, 1, 2, UNCONDITIONAL])
    x_init, generator = sampler.initial_state(4, SHAPE, denoiser.schedule.init_std(sigmas), 0)
    out = sampler.sample(denoiser, sigmas, labels, x_init, generator, guidance=sampler.Guidance(scale=7.0),
                         hypotheses=[0, 1, 2, UNCONDITIONAL])
    assert out['log_posterior'].shape == (4, 4, 4) and torch.isfinite(out['x']).all()
    assert torch.all(out['log_posterior'][0] == -math.log(4))             # pure noise: the prior
    torch.testing.assert_close(out['log_posterior'].exp().sum(-1), torch.ones(4, 4, dtype=torch.float64))
    assert not torch.allclose(out['log_posterior'][1], out['log_posterior'][0])   # the first step informs
    broken = copy.copy(denoiser)
    broken.network = copy.deepcopy(denoiser.network)
    with torch.no_grad():
        broken.network.proj_out.bias.fill_(float('nan'))
    with pytest.raises(FloatingPointError, match=r'sigma = inf \(step 0 of 4\) for hypothesis 0'):
        sampler.sample(broken, sigmas, labels, x_init, torch.Generator().manual_seed(0), hypotheses=[0, 1, UNCONDITIONAL])
    with pytest.raises(ValueError, match='labels'):
        denoiser(x_init, 1.0, torch.tensor([0, 1, 2, 3]))

#----------------------------------------------------------------------------
# Decoding.

def test_decode_equals_the_pipelines_images(pipeline):
    # The pipeline divides by the VAE's scaling factor and adds its shift factor (SD3's 1.5305 and 0.0609) before
    # decoding, then maps [-1, 1] to [0, 1]: with output_type 'np' from the same one-step run, float32 rounding
    # of the same VAE (one batch both ways).
    start = latents(2, seed=3)
    kwargs = dict(prompt=PROMPTS[:2], num_inference_steps=1, guidance_scale=1.0, height=16, width=16)
    final = pipeline(**kwargs, latents=start.clone(), output_type='latent').images
    images = pipeline(**kwargs, latents=start.clone(), output_type='np').images
    ours = diffusers_folder.decode(pipeline.vae, final)
    assert ours.shape == images.shape == (2, 16, 16, 3) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, images, rtol=0, atol=64 * FLOAT32_ULP)
    without_shift = diffusers_folder.decode(pipeline.vae, final - pipeline.vae.config.shift_factor * pipeline.vae.config.scaling_factor)
    assert np.abs(without_shift - images).max() > 1e-3        # not vacuous: the shift factor matters

#----------------------------------------------------------------------------
# The backend's config checks.

def config_with(tmp_path, **keys):
    return {'models': {'m': {'backend': 'sd3', 'prompts': 'config/prompts/sd15.yaml', 'sampler': {'steps': 6},
                             **keys}}}

@pytest.mark.parametrize('repo', ['black-forest-labs/FLUX.1-dev', 'black-forest-labs/FLUX.1-schnell',
                                  'stabilityai/stable-diffusion-3.5-large-turbo'])
def test_the_config_refuses_a_guidance_distilled_model_saying_why(tmp_path, repo):
    errors = validate_config(config_with(tmp_path, repo=repo), root=ROOT)
    assert len(errors) == 1 and errors[0].startswith(f'config key models.m.repo: {repo} is guidance-distilled ('), errors
    assert ("it was never trained without its condition, so it has no unconditional branch, and neither the paper's "
            'binary form <k>-vs-reference (a hypothesis against the unconditional reference) nor classifier-free '
            'guidance can be evaluated; use a model trained with condition dropout, such as '
            'stabilityai/stable-diffusion-3-medium-diffusers') in errors[0]

def test_the_config_refuses_an_unknown_repository_and_checks_a_downloaded_pipeline(tiny_folder, tmp_path, monkeypatch):
    root = tmp_path / 'project'
    root.mkdir()
    monkeypatch.chdir(root)                 # the working directory, where the download rule puts resources/
    errors = validate_config(config_with(tmp_path, repo='someone/sd3-finetune'), root=ROOT)
    assert errors == ["config key models.m.repo: 'someone/sd3-finetune' is not a pipeline the sd3 backend knows the "
                      'files of; known: stabilityai/stable-diffusion-3-medium-diffusers']
    assert validate_config(config_with(tmp_path), root=ROOT) == []       # not downloaded: the jobs check it
    # Downloaded (here: the tiny pipeline in the project's resources/), what its files say is checked too.
    shutil.copytree(ROOT / 'config', root / 'config')
    shutil.copytree(tiny_folder, root / 'resources' / 'stable-diffusion-3-medium-diffusers')
    assert validate_config(config_with(tmp_path, resolution=16), root=root) == []
    assert validate_config(config_with(tmp_path, resolution=18), root=root) == [
        'config key models.m.resolution: resolution 18: must be a multiple of 4 for '
        'resources/stable-diffusion-3-medium-diffusers (the VAE downsamples by 2, the network takes 2 x 2 patches)']
    config = root / 'resources' / 'stable-diffusion-3-medium-diffusers' / 'transformer' / 'config.json'
    config.write_text(json.dumps({**json.loads(config.read_text()), 'guidance_embeds': True}))
    errors = validate_config(config_with(tmp_path, resolution=16), root=root)
    assert len(errors) == 1 and re.match(r'config key models.m.repo: resources/stable-diffusion-3-medium-diffusers: the '
                                         r'pipeline is guidance-distilled', errors[0]), errors
