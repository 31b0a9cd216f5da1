"""The generic diffusers backend (entropic.backends.diffusers) over every architecture it reads
(entropic.networks.diffusers_pipeline), on tiny pipelines built from configs with random weights and saved with
save_pretrained (tests/support/diffusers_tiny.py): a class-conditional UNet2DModel (epsilon), SD1.5-like and SD2.1-like UNet2DConditionModel (epsilon, v), SDXL-like (two
CLIP encoders, added time ids), DiT (learned variance), PixArt-like (T5 with its attention mask, learned variance),
SD3-like (rectified flow).

For each: what `describe` reads from the files alone; that the denoiser loads and gives finite x0 estimates on its
grid; and that one guided step of ours agrees with the diffusers pipeline's own on the same network to float32
rounding. Then what is refused, by name; the scheduler defaults against diffusers' own; and which files of a Hub
pipeline the download fetches.
"""

import copy
import inspect
import json
import math
import shutil

import diffusers
import numpy as np
import pytest
import torch

from entropic.files import hub
from entropic.method import sampler
from entropic.networks import diffusers_folder, diffusers_pipeline, text_encoders
from tests.support.diffusers_tiny import ARCHITECTURES
from tests.support.rounding import FLOAT32_ULP as U, float32_network_atol

PROMPTS = ['A red fox', 'a blue cat']   # 'A': PixArt lower-cases, and its tiny T5 reads lower-case letters only
CLASSES = [0, 3]
W, STEPS, SEED = 4.0, 2, 3              # guidance scale; the pipelines' runs: one ancestral step, then the last


@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    """{architecture: its tiny pipeline folder}, built once."""
    root = tmp_path_factory.mktemp('diffusers-tiny')
    return {name: build(root / name) for name, build in ARCHITECTURES.items()}


def hypotheses(pipeline):
    return CLASSES if pipeline.conditioning == 'classes' else PROMPTS


def labels(pipeline):
    """The trajectories' labels: a class-conditional denoiser's are class indices, a prompt one's prompt indices."""
    return CLASSES if pipeline.conditioning == 'classes' else list(range(len(PROMPTS)))

#----------------------------------------------------------------------------
# What a folder is.

# architecture: (denoiser class, conditioning, prediction type, learned variance, flow, (C, h, w), VAE factor)
EXPECTED = {
    'class-unet': ('UNet2DModel', 'classes', 'epsilon', False, False, (1, 8, 8), 1),
    'sd15':       ('UNet2DConditionModel', 'prompts', 'epsilon', False, False, (4, 8, 8), 2),
    'sd21':       ('UNet2DConditionModel', 'prompts', 'v_prediction', False, False, (4, 8, 8), 2),
    'sdxl':       ('UNet2DConditionModel', 'prompts', 'epsilon', False, False, (4, 8, 8), 2),
    'dit':        ('DiTTransformer2DModel', 'classes', 'epsilon', True, False, (4, 8, 8), 2),
    'pixart':     ('PixArtTransformer2DModel', 'prompts', 'epsilon', True, False, (4, 8, 8), 2),
    'sd3':        ('SD3Transformer2DModel', 'prompts', None, False, True, (4, 8, 8), 2),
}


@pytest.mark.parametrize('name', ARCHITECTURES)
def test_describe_reads_what_each_architecture_is_from_its_files(folders, name):
    cls, conditioning, prediction, learned, flow, shape, factor = EXPECTED[name]
    pipeline = diffusers_pipeline.describe(folders[name])
    assert (pipeline.cls, pipeline.conditioning, pipeline.scheduler.get('prediction_type'), pipeline.learned_variance,
            pipeline.flow, pipeline.shape(), pipeline.factor) == (cls, conditioning, prediction, learned, flow, shape,
                                                                  factor)
    assert (pipeline.vae is None) == (name == 'class-unet')
    assert pipeline.resolution() == shape[-1] * factor
    if conditioning == 'classes':       # the last class embedding: DiT's 1000 classes and its null row; 10 and 1
        assert pipeline.null_label() == {'class-unet': 10, 'dit': 1000}[name]
    process = diffusers_folder.noise_process(pipeline.scheduler)
    if flow:
        assert process.shift == 3.0
    else:       # the beta schedule's abar, as diffusers' own scheduler of that config computes it (in float32)
        theirs = diffusers.DDPMScheduler.from_pretrained(folders[name] / 'scheduler').alphas_cumprod.double().numpy()
        np.testing.assert_allclose(process.abar, theirs, rtol=1000 * U)     # float32 cumprod over 1000 factors


@pytest.mark.parametrize('name', ARCHITECTURES)
def test_each_architecture_loads_and_gives_finite_x0_estimates_on_its_grid(folders, name):
    pipeline = diffusers_pipeline.describe(folders[name])
    den, loaded = diffusers_pipeline.load_denoiser(folders[name], hypotheses(pipeline))
    assert loaded.cls == pipeline.cls and den.flow == pipeline.flow
    rows = torch.tensor(labels(pipeline) + [-1])
    for sigma in den.schedule.sigmas({'steps': 4})[:-1]:
        noise = torch.randn(len(rows), *pipeline.shape(), generator=torch.Generator().manual_seed(0))
        x = noise if math.isinf(sigma) else noise * float(sigma)
        x0 = den(x, float(sigma), rows)
        assert x0.shape == x.shape and x0.dtype == torch.float32 and torch.isfinite(x0).all(), sigma
        if pipeline.learned_variance:
            variance = den.posterior_variance(float(sigma), rows, x)
            assert variance.shape == x.shape and torch.isfinite(variance).all() and (variance >= 0).all()

#----------------------------------------------------------------------------
# One guided step against the diffusers pipeline's own.

def reference_run(name, folder, pipeline, den):
    """Run diffusers' own pipeline class of the folder (for the class-conditional UNet2DModel, which no diffusers
    pipeline conditions on labels, diffusers' scheduler in the pipelines' loop) for STEPS steps at guidance scale W
    on our network, with the generator seeded SEED, and record every step: the timestep, the state the step starts
    from, the guided x0 estimate the scheduler forms (DDPMScheduler's pred_original_sample; a flow model's x_t - t v),
    the largest |network output| of the prediction channels. A DDPM-trained model runs with diffusers'
    DDPMScheduler of the folder's scheduler config: the ancestral step our sampler takes (DDIM with eta = 1), on the
    grid of the config's spacing and offset; a flow model with its FlowMatchEulerDiscreteScheduler."""
    B = len(labels(pipeline))
    flow = pipeline.flow
    if flow:
        scheduler = diffusers.FlowMatchEulerDiscreteScheduler.from_pretrained(folder / 'scheduler')
    else:
        scheduler = diffusers.DDPMScheduler.from_pretrained(folder / 'scheduler', clip_sample=False, thresholding=False,
                                                            variance_type='fixed_small')
    record, outputs = [], []
    step = scheduler.step

    def recording(model_output, timestep, sample, generator=None, return_dict=True):    # the pipelines pass these
        out = step(model_output, timestep, sample, generator=generator, return_dict=return_dict)
        if flow:
            x0 = sample - (timestep / scheduler.config.num_train_timesteps) * model_output
        else:
            x0 = out[1] if isinstance(out, tuple) else out.pred_original_sample
        record.append(dict(t=timestep, sample=sample[:B].clone(), x0=x0[:B].clone(), raw=outputs[-1]))
        return out

    scheduler.step = recording
    channels = pipeline.network['in_channels']
    hook = den.network.register_forward_hook(lambda module, args, output: outputs.append(float(
        (output[0] if isinstance(output, tuple) else output.sample)[:, :channels].abs().max())))
    generator = torch.Generator().manual_seed(SEED)
    try:
        if name == 'class-unet':
            scheduler.set_timesteps(STEPS)
            latents = torch.randn(B, *pipeline.shape(), generator=generator)
            conditions = torch.tensor([pipeline.null_label()] * B + CLASSES)        # as the pipelines: reference first
            for t in scheduler.timesteps:
                uncond, cond = den.network(torch.cat([latents] * 2), t, class_labels=conditions).sample.chunk(2)
                latents = scheduler.step(uncond + W * (cond - uncond), t, latents, generator=generator).prev_sample
        else:
            pipe = diffusers.DiffusionPipeline.from_pretrained(folder, scheduler=scheduler,
                                                               **{pipeline.component: den.network})
            pipe.set_progress_bar_config(disable=True)
            settings = dict(guidance_scale=W, num_inference_steps=STEPS, generator=generator)
            if name == 'dit':
                pipe(class_labels=CLASSES, **settings)
            else:
                settings.update(prompt=PROMPTS, output_type='latent')
                if name == 'pixart':    # the 1024 px model's binning and caption cleaning (bs4, ftfy) do not apply
                    settings.update(use_resolution_binning=False, clean_caption=False)
                pipe(**settings)
    finally:
        hook.remove()
    return record


def edm_state(pipeline, sample, sigma):
    """The pipeline's state x_t as the sampler holds it at sigma: x_t sqrt(1 + sigma^2) (VP), x_t (1 + sigma) (flow),
    and at sigma = inf x_t itself (entropic.networks.diffusers_denoiser)."""
    if pipeline.flow:
        return sample if math.isinf(sigma) else sample * (1 + sigma)
    return sample * math.sqrt(1 + sigma ** 2)


def output_weight(pipeline, sigma):
    """|d x0 / d (network output)| at sigma: sigma (epsilon), sigma / sqrt(1 + sigma^2) (v), 1 (sample), the flow
    time t (velocity) -- what multiplies a network's rounding in the x0 estimate."""
    if pipeline.flow:
        return 1.0 if math.isinf(sigma) else sigma / (1 + sigma)
    return {'epsilon': sigma, 'v_prediction': sigma / math.sqrt(1 + sigma ** 2),
            'sample': 1.0}[pipeline.scheduler['prediction_type']]


def x0_tolerance(pipeline, sigma, raw, x, w=W):
    """The float32 rounding between two guided x0 estimates at one state: each branch's output computed in another
    batch (float32_network_atol of the largest |output|), both multiplied by up to 1 + 2w in D_u + w (D_c - D_u) and by
    the output's weight in x0 (output_weight); plus the state's own rounding: ours is x_t rescaled to EDM coordinates
    and back, and both x0 forms subtract terms of |x|'s size (x - sigma eps; (x_t - s eps) / alpha): 8 units of
    max |x|."""
    return output_weight(pipeline, sigma) * (1 + 2 * w) * float32_network_atol(torch.tensor(raw)) + \
        8 * U * float(x.abs().max())


def our_step(den, sigmas, i, rows, x, w=W):
    """(guided x0, state after the step) of our sampler's step i from the state x, with a fresh generator."""
    result = sampler.sample(den, sigmas[i:i + 2], torch.tensor(rows), x, torch.Generator().manual_seed(0),
                            guidance=sampler.Guidance(scale=w), keep_denoised=len(rows))
    return result['denoised'][0], result['x']


@pytest.fixture(scope='module')
def compared(folders):
    """compared(name) -> (pipeline, our denoiser, its grid, the reference run's record), made once per name."""
    made = {}

    def get(name):
        if name not in made:
            pipeline = diffusers_pipeline.describe(folders[name])
            den, _ = diffusers_pipeline.load_denoiser(folders[name], hypotheses(pipeline))
            made[name] = pipeline, den, den.schedule.sigmas({'steps': STEPS}), \
                reference_run(name, folders[name], pipeline, den)
        return made[name]
    return get


@pytest.mark.slow
@pytest.mark.parametrize('name', ARCHITECTURES)
def test_a_guided_step_agrees_with_the_diffusers_pipelines_own_to_float32_rounding(compared, name):
    """At every step of the pipeline's run, on its grid and from its state, our guided x0 estimate equals the one
    its scheduler forms from the pipeline's guided prediction (so the conditioning rows, the null label or encoded
    prompts, the timestep and the output's parametrisation agree); and from the same start and generator our
    sampler's first step lands where the pipeline's ancestral step does (DiT's pipeline draws its step noise from
    the global generator, so only its x0 estimates are compared; a flow model's Euler step is affine in the x0
    estimate at fixed state and times, so the x0 estimates are its steps)."""
    pipeline, den, sigmas, record = compared(name)
    rows = labels(pipeline)
    assert len(record) == STEPS
    for i, step in enumerate(record):      # the grid: diffusers' timesteps for the config's spacing, offset, shift
        sigma = float(sigmas[i])
        if pipeline.flow:
            assert np.float32(float(step['t'])) == den.schedule.network_timestep(sigma)
        else:
            assert den.schedule.timestep(sigma) == pytest.approx(float(step['t']), abs=1e-9)
        x = edm_state(pipeline, step['sample'], sigma)
        ours, _ = our_step(den, sigmas, i, rows, x)
        tol = x0_tolerance(pipeline, sigma, step['raw'], x)
        torch.testing.assert_close(ours, step['x0'], rtol=0, atol=tol)
        if i == 0:      # not vacuous: guidance moves the estimate by far more than the tolerance
            unguided, _ = our_step(den, sigmas, i, rows, x, w=1.0)
            assert (unguided - ours).abs().max() > 100 * tol
    if pipeline.flow or name == 'dit':
        return
    x_init, generator = sampler.initial_state(len(rows), pipeline.shape(), den.schedule.init_std(sigmas), SEED)
    torch.testing.assert_close(edm_state(pipeline, record[0]['sample'], float(sigmas[0])), x_init, rtol=0,
                               atol=4 * U * float(x_init.abs().max()))
    ours = sampler.sample(den, sigmas[:2], torch.tensor(rows), x_init, generator, guidance=sampler.Guidance(scale=W))['x']
    theirs = edm_state(pipeline, record[1]['sample'], float(sigmas[1]))
    # the step's mean moves the x0 estimate's error by 1 - sigma'^2 / sigma^2; the step's terms round at |x'|
    shrink = 1 - float(sigmas[1] / sigmas[0]) ** 2
    tol = shrink * x0_tolerance(pipeline, float(sigmas[0]), record[0]['raw'], x_init) + 8 * U * float(theirs.abs().max())
    torch.testing.assert_close(ours, theirs, rtol=0, atol=tol)


@pytest.mark.slow
def test_sdxl_reference_is_the_zeroed_empty_prompt_as_its_pipeline_forms_it(compared):
    """force_zeros_for_empty_prompt (the SDXL index's default, true): the reference's hidden states and pooled
    embedding are zeros, which the pipeline agrees with (previous test); encoding the empty prompt instead gives
    another x0 estimate, by far more than the rounding."""
    pipeline, den, sigmas, record = compared('sdxl')
    assert pipeline.index['force_zeros_for_empty_prompt'] is True
    for key in ('encoder_hidden_states', 'added_cond_kwargs.text_embeds'):
        assert (den.table[key][-1] == 0).all() and (den.table[key][:-1] != 0).any()
    assert den.table['added_cond_kwargs.time_ids'].tolist() == [[16, 16, 0, 0, 16, 16]] * 3    # 8 x 8 latents, 16 px
    config = {'resolution': pipeline.resolution(), 'use_additional_conditions': False}
    encoded = copy.copy(den)
    encoded.table = text_encoders.encode(pipeline.folder, {**pipeline.index, 'force_zeros_for_empty_prompt': False},
                                         PROMPTS, config)
    assert (encoded.table['encoder_hidden_states'][-1] != 0).any()
    x = edm_state(pipeline, record[0]['sample'], float(sigmas[0]))
    tol = x0_tolerance(pipeline, float(sigmas[0]), record[0]['raw'], x)
    assert (our_step(encoded, sigmas, 0, labels(pipeline), x)[0] - record[0]['x0']).abs().max() > 100 * tol


@pytest.mark.slow
def test_pixart_reads_t5_under_its_attention_mask_and_lower_cases_prompts(compared, monkeypatch):
    """The T5 encoding the PixArt pipeline forms: the tokens' attention mask goes to the encoder and the
    transformer (without it, another estimate), and prompts are lower-cased (the tiny T5 reads 'A' as unknown)."""
    pipeline, den, sigmas, record = compared('pixart')
    mask = den.table['encoder_attention_mask']
    assert mask.shape == (3, 120) and mask[:, 0].all() and not mask[:, -1].any()     # 120 tokens, padding masked
    x = edm_state(pipeline, record[0]['sample'], float(sigmas[0]))
    tol = x0_tolerance(pipeline, float(sigmas[0]), record[0]['raw'], x)
    unmasked = copy.copy(den)
    unmasked.table = {**den.table, 'encoder_attention_mask': torch.ones_like(mask)}
    assert (our_step(unmasked, sigmas, 0, labels(pipeline), x)[0] - record[0]['x0']).abs().max() > 100 * tol
    monkeypatch.setattr(text_encoders.ENCODINGS['PixArtAlphaPipeline'], 'prepare', None)
    cased = copy.copy(den)
    cased.table = text_encoders.encode(pipeline.folder, pipeline.index, PROMPTS,
                                       {'resolution': pipeline.resolution(), 'use_additional_conditions': False})
    assert (our_step(cased, sigmas, 0, labels(pipeline), x)[0] - record[0]['x0']).abs().max() > 100 * tol

#----------------------------------------------------------------------------
# What is refused, by name.

def json_copy(source, target):
    """The JSON files of a pipeline folder (all that `describe` reads) copied to `target`."""
    for path in source.rglob('*.json'):
        (target / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / path.relative_to(source))
    return target


DELETE = object()
SCHEDULER = 'scheduler/scheduler_config.json'
REFUSALS = {    # what: (architecture, file, {key: new value or DELETE}, words of the error)
    'a guidance-distilled transformer': ('sd3', 'transformer/config.json', {'guidance_embeds': True},
                                         'guidance-distilled.*guidance_embeds'),
    'an LCM UNet': ('sd15', 'unet/config.json', {'time_cond_proj_dim': 256}, 'guidance-distilled.*time_cond_proj_dim'),
    'an unconditional UNet2DModel': ('class-unet', 'unet/config.json', {'num_class_embeds': None},
                                     'unconditional UNet2DModel'),
    'an inpainting UNet': ('sd15', 'unet/config.json', {'in_channels': 9}, "9 input channels for the VAE's 4 latent "
                                                                            'channels: an image-conditioned network'),
    'a UNet also taking class labels': ('sd15', 'unet/config.json', {'class_embed_type': 'timestep'},
                                        'class_embed_type'),
    "SDXL's added conditions outside SDXL": ('sd15', 'unet/config.json', {'addition_embed_type': 'text_time'},
                                             "addition_embed_type 'text_time' in a StableDiffusionPipeline"),
    'a flow network with a learned variance': ('sd3', 'transformer/config.json', {'out_channels': 8},
                                               'learned variance only of DDPM'),
    'an unknown denoiser': ('sd15', 'model_index.json', {'unet': ['diffusers', 'UVit2DModel']}, 'a UVit2DModel'),
    'an unknown prompt pipeline': ('sd15', 'model_index.json', {'_class_name': 'KandinskyPipeline'},
                                   'KandinskyPipeline does not condition on prompts'),
    'clip_sample': ('sd15', SCHEDULER, {'clip_sample': True}, "'clip_sample' is True"),
    "clip_sample by DDIMScheduler's default": ('sd15', SCHEDULER, {'clip_sample': DELETE}, "'clip_sample' is True"),
    'thresholding': ('pixart', SCHEDULER, {'thresholding': True}, "'thresholding' is True"),
    'use_karras_sigmas': ('sdxl', SCHEDULER, {'use_karras_sigmas': True}, "'use_karras_sigmas' is True"),
    'dynamic shifting': ('sd3', SCHEDULER, {'use_dynamic_shifting': True}, "'use_dynamic_shifting' is True"),
    'an unknown scheduler': ('sd15', SCHEDULER, {'_class_name': 'LCMScheduler'}, 'the scheduler is a LCMScheduler'),
    'an unknown beta schedule': ('sd15', SCHEDULER, {'beta_schedule': 'exp'}, "'beta_schedule' is 'exp'"),
    'a flow scheduler for a UNet': ('sd15', SCHEDULER, {'_class_name': 'FlowMatchEulerDiscreteScheduler'},
                                    'a FlowMatchEulerDiscreteScheduler for a UNet2DConditionModel'),
}


@pytest.mark.parametrize('what', REFUSALS)
def test_what_cannot_be_honoured_is_refused_naming_the_file_and_the_reason(folders, tmp_path, what):
    name, file, changes, words = REFUSALS[what]
    folder = json_copy(folders[name], tmp_path / name)
    diffusers_pipeline.describe(folder)     # as built, accepted
    path = folder / file
    config = json.loads(path.read_text())
    for key, value in changes.items():
        if value is DELETE:
            del config[key]
        else:
            config[key] = value
    path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match=words) as error:
        diffusers_pipeline.describe(folder)
    assert str(folder) in str(error.value)


@pytest.mark.parametrize('table', ['DDPM_SCHEDULERS', 'FLOW_SCHEDULERS'])
def test_the_scheduler_defaults_are_those_of_diffusers_own_classes(table):
    """A key absent from a scheduler_config.json means its class's __init__ default: the table must say the same."""
    for cls, defaults in getattr(diffusers_folder, table).items():
        signature = inspect.signature(getattr(diffusers, cls).__init__).parameters
        for key, value in defaults.items():
            assert key in signature and signature[key].default == value, (cls, key)
        for key, (value, _) in diffusers_folder.REFUSED.items():     # a refused key's default is the honoured value
            if key in signature and key not in defaults:
                assert signature[key].default == value, (cls, key)

#----------------------------------------------------------------------------
# Which files of a Hub pipeline are fetched.

def test_pipeline_files_fetch_each_component_once_in_safetensors_without_variants_or_other_frameworks():
    index = {'_class_name': 'StableDiffusion3Pipeline', '_diffusers_version': '0.29.0',
             'transformer': ['diffusers', 'SD3Transformer2DModel'], 'vae': ['diffusers', 'AutoencoderKL'],
             'scheduler': ['diffusers', 'FlowMatchEulerDiscreteScheduler'],
             'text_encoder': ['transformers', 'CLIPTextModelWithProjection'],
             'text_encoder_3': ['transformers', 'T5EncoderModel'], 'tokenizer': ['transformers', 'CLIPTokenizer'],
             'image_encoder': [None, None], 'feature_extractor': [None, None]}
    wanted = ['transformer/config.json', 'transformer/diffusion_pytorch_model.safetensors',
              'vae/config.json', 'vae/diffusion_pytorch_model.bin',                    # no safetensors: the .bin
              'scheduler/scheduler_config.json',
              'text_encoder/config.json', 'text_encoder/model.safetensors',
              'text_encoder_3/config.json', 'text_encoder_3/model-00001-of-00002.safetensors',
              'text_encoder_3/model-00002-of-00002.safetensors', 'text_encoder_3/model.safetensors.index.json',
              'tokenizer/merges.txt', 'tokenizer/special_tokens_map.json', 'tokenizer/tokenizer_config.json',
              'tokenizer/vocab.json']
    unwanted = ['README.md', '.gitattributes', 'sd3_medium.safetensors',                 # not a component's
                'transformer/diffusion_pytorch_model.bin', 'transformer/diffusion_pytorch_model.fp16.safetensors',
                'transformer/diffusion_flax_model.msgpack', 'transformer/model.onnx', 'transformer/model.onnx_data',
                'vae/diffusion_pytorch_model.fp16.bin', 'vae/diffusion_flax_model.msgpack',
                'text_encoder/pytorch_model.bin', 'text_encoder/model.fp16.safetensors', 'text_encoder/flax_model.msgpack',
                'text_encoder/tf_model.h5',
                'text_encoder_3/model.fp16-00001-of-00002.safetensors',
                'text_encoder_3/model.fp16-00002-of-00002.safetensors',
                'text_encoder_3/model.safetensors.index.fp16.json',             # the variant's shard index
                'text_encoder_3/pytorch_model-00001-of-00002.bin', 'text_encoder_3/pytorch_model.bin.index.json',
                'image_encoder/config.json', 'image_encoder/model.safetensors',  # a null component
                'text_encoder_2/config.json', 'text_encoder_2/model.safetensors']   # not in this index
    listing = sorted(wanted + unwanted)
    assert hub.pipeline_files(listing, index) == sorted(wanted)
    nested = [f'sub/{name}' for name in listing] + listing        # the pipeline in a subfolder of the repository
    assert hub.pipeline_files(nested, index, 'sub/') == sorted(f'sub/{name}' for name in wanted)


def test_pipeline_files_leave_out_the_components_the_backend_never_loads():
    """SD1.5's index names a safety checker (1.2 GB) and its feature extractor: the backend reads neither."""
    index = {'_class_name': 'StableDiffusionPipeline', 'unet': ['diffusers', 'UNet2DConditionModel'],
             'safety_checker': ['stable_diffusion', 'StableDiffusionSafetyChecker'],
             'feature_extractor': ['transformers', 'CLIPImageProcessor']}
    listing = ['unet/config.json', 'unet/diffusion_pytorch_model.safetensors', 'safety_checker/config.json',
               'safety_checker/model.safetensors', 'feature_extractor/preprocessor_config.json']
    assert hub.pipeline_files(listing, index) == ['unet/config.json', 'unet/diffusion_pytorch_model.safetensors']


def test_a_relative_local_checkpoint_outside_the_working_directory_is_refused_not_downloaded(folders, tmp_path,
                                                                                             monkeypatch):
    """A relative checkpoint folder is read by the jobs from the working directory: where a run works elsewhere than
    the project root (snakemake --directory), the config check says so, rather than the Hub id it resembles being
    planned for download."""
    from entropic.pipeline.configuration import validate_config
    project = tmp_path / 'project'
    shutil.copytree(folders['class-unet'], project / 'models' / 'tiny-ddpm')
    (project / 'parts.yaml').write_text('pair: [[0], [3]]\n')
    config = {'models': {'m': {'backend': 'diffusers', 'checkpoint': 'models/tiny-ddpm', 'partitions': 'parts.yaml'}}}
    monkeypatch.chdir(project)
    assert validate_config(copy.deepcopy(config), root=project) == []
    monkeypatch.chdir(tmp_path)
    errors = validate_config(copy.deepcopy(config), root=project)
    assert len(errors) == 1 and errors[0].startswith('config key models.m.checkpoint:') and 'absolute path' in errors[0]


@pytest.mark.parametrize('checkpoint, partitions, key, says', [
    ('models/tiny_ddpm', 'pair: [[0], [3]]\n', 'checkpoint', "no folder 'models/tiny_ddpm'"),     # mistyped, not a Hub id
    ('./tiny-ddpm', 'pair: [[0], [3]]\n', 'checkpoint', "no folder './tiny-ddpm'"),
    ('models/tiny-ddpm', '{}\n', 'partitions', 'no class in play'),
    ('models/tiny-ddpm', 'classes: [[0, 3], [5]]\n', 'partitions', "partitions ['classes'] redefine built-in"),
    ('models/tiny-ddpm', 'pair: [[0], [12]]\n', 'partitions', 'hypotheses are 0..9'),       # 10 is the null label
    ('models/tiny-ddpm', 'pair: [[0], [3]]\nnull: 11\n', 'null_label', 'class embeddings 0..10'),
])
def test_a_config_mistake_is_refused_at_the_check_naming_its_key(folders, tmp_path, monkeypatch, checkpoint, partitions,
                                                                 key, says):
    """What a newcomer gets wrong is refused when the config is checked, before any job, naming the key: a mistyped
    local folder (never read as a Hub id to download), a file with no class in play or redefining a built-in
    partition, a class beyond the network's classes, a null label beyond its embeddings."""
    from entropic.pipeline.configuration import validate_config
    shutil.copytree(folders['class-unet'], tmp_path / 'models' / 'tiny-ddpm')
    text, _, null = partitions.partition('null: ')
    (tmp_path / 'parts.yaml').write_text(text)
    entry = {'backend': 'diffusers', 'checkpoint': checkpoint, 'partitions': 'parts.yaml'}
    if null:
        entry['null_label'] = int(null)
    monkeypatch.chdir(tmp_path)
    errors = validate_config({'models': {'m': entry}}, root=tmp_path)
    assert len(errors) == 1 and errors[0].startswith(f'config key models.m.{key}:') and says in errors[0], errors
