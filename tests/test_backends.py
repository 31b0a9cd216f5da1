"""The backend contract, checked for every registered backend (entropic.backends), the way diffusers runs one
common suite over every scheduler: a backend passes by being registered and having a tiny example
(tests/backends/<name>.py, a model of its real architecture with random weights, nothing downloaded).

Each example's folder is its project root, as the working directory is in a run: the repository's config/ is
copied into it (the shipped partition and prompt files), the example writes its network files into it, and
every relative path, of the config or of a file the backend names, resolves against it. A failed check says
which method of the backend (entropic.backends.base) to change.

Every check runs on the CPU, and on CUDA where a GPU is present (skipped, saying so, where not), so that on a
machine with a GPU one command exercises every backend's device and dtype paths (float16 where it uses it).
"""

import contextlib
import copy
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from entropic import backends
from entropic.theory import partitions
from entropic.method import sampler
from entropic.pipeline import trajectories
from entropic.pipeline.configuration import validate_config
from entropic.method.sampler import Guidance
from shipped_configs import example_module

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = Path(__file__).parent / 'backends'
NAMES = list(backends.registry())


def example_ids():
    """Every backend, and `<backend>:<variant>` for each further architecture its example module lists in VARIANTS
    (example(folder, variant)); a backend without an example module fails in its tests, not here."""
    ids = []
    for name in NAMES:
        try:
            variants = getattr(example_module(name), 'VARIANTS', ())
        except AssertionError:
            variants = ()
        ids += [name] + [f'{name}:{variant}' for variant in variants]
    return ids
DEVICES = ['cpu', pytest.param('cuda', marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                 reason='no CUDA device on this machine'))]


def example_config(name, folder):
    """The example's config, validated with defaults filled in against the project root `folder` (the
    repository's config/ copied in, the example's files written there)."""
    name, _, variant = name.partition(':')
    module = example_module(name)
    path = EXAMPLES / f'{name}.py'
    shutil.copytree(ROOT / 'config', Path(folder) / 'config')
    config = module.example(Path(folder), variant) if variant else module.example(Path(folder))
    with contextlib.chdir(folder):      # the project root is the working directory of a run
        errors = validate_config(config, root=folder)
    assert errors == [], (f'the config of {path.relative_to(ROOT)} is refused (the schema fragment `schema`, '
                          '`required` and `check` of the backend, or the example): ' + '; '.join(errors))
    return config


@pytest.fixture(scope='module', params=example_ids())
def example(request, tmp_path_factory):
    """(backend, config, folder) of one registered backend's tiny example (or of a variant of it); `folder` is
    its project root."""
    folder = tmp_path_factory.mktemp(request.param.replace(':', '-'))
    return backends.get(request.param.partition(':')[0]), example_config(request.param, folder), folder


@pytest.fixture(autouse=True)
def _in_project(request, monkeypatch):
    """A test of an example runs in its project root, the working directory of the rules that ask the backend
    (paths of the working directory, such as a local checkpoint's files, resolve as in a run)."""
    if 'example' in request.fixturenames:
        monkeypatch.chdir(request.getfixturevalue('example')[2])


def place(folder, files):
    """{name: path or [paths]} a backend names, each relative path under the project root `folder`."""
    at = lambda path: Path(path) if Path(path).is_absolute() else folder / path
    return {k: [at(p) for p in v] if isinstance(v, list) else at(v) for k, v in files.items()}


def load(backend, config, folder, device):
    spec = config['models']['m']
    hypotheses = backend.hypotheses(spec, config, folder)
    files = place(folder, backend.network_files('m', spec, 'unguided'))
    return backend.load({k: spec[k] for k in backend.load_keys}, files, hypotheses, device), hypotheses


def states(model, count, seed=0):
    """Noisy states [count, *shape] at the model's start, in the model's device."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(count, *model.shape, generator=generator).to(model.device)


def at_level(x, sigma):
    """Standard normal states `x` as the sampler holds them at noise level sigma: x sigma, and at sigma = inf (a
    start from pure noise, entropic.method.sampler) standardised, x itself."""
    return x if np.isinf(sigma) else x * float(sigma)


#----------------------------------------------------------------------------
# Configuration

def test_every_backend_is_named_and_described():
    assert NAMES, 'no backend is registered'
    for name in NAMES:
        assert backends.get(name).name == name and backends.get(name).description, \
            f'backend {name!r}: set the class attributes `name` and `description` (one line for the docs)'
    with pytest.raises(ValueError, match='unknown backend'):
        backends.get('no-such-backend')


def test_a_wrong_value_of_each_own_key_is_refused_naming_the_key(example):
    backend, config, folder = example
    for key, schema in backend.schema.items():
        bad = copy.deepcopy(config)
        bad['models']['m'][key] = 'not-a-mapping' if schema.get('type') == 'object' else {'wrong': 'type'}
        errors = validate_config(bad, root=folder)
        assert any(e.startswith(f'config key models.m.{key}') for e in errors), \
            f'a wrong value of models.m.{key} is not refused naming the key: give it a type in `schema`; {errors}'
    missing = copy.deepcopy(config)
    for key in backend.required:
        del missing['models']['m'][key]
    errors = '\n'.join(validate_config(copy.deepcopy(missing), root=folder))
    for key in backend.required:
        assert f"'{key}' is a required property" in errors, \
            f'models.m.{key} is in `required` but a config without it is not refused: add it to `schema`'


def test_keys_of_other_backends_are_refused_naming_the_backend(example):
    backend, config, folder = example
    foreign = sorted({k for b in backends.registry().values() for k in b.schema} - set(backend.schema))
    for key in foreign:
        bad = copy.deepcopy(config)
        bad['models']['m'][key] = 1
        assert f"models.m: {key} do not apply to the {backend.name!r} backend" in \
            '\n'.join(validate_config(bad, root=folder)), key


#----------------------------------------------------------------------------
# Hypotheses, partitions, files

def test_hypotheses_and_partitions_resolve(example):
    backend, config, folder = example
    spec = config['models']['m']
    hypotheses = backend.hypotheses(spec, config, folder)
    assert hypotheses and all(isinstance(k, int) and k >= 0 and isinstance(v, str) and v for k, v in hypotheses.items()), \
        f'hypotheses() must give {{label: name}}, labels ints >= 0, names non-empty strings; gave {hypotheses!r}'
    files = place(folder, backend.partition_files(spec, config, folder))
    labels = list(hypotheses)
    parts = backend.all_partitions(spec, files, labels)
    assert parts['classes'] == [[k] for k in labels]
    for name, cells in parts.items():
        members = {k for cell in cells for k in cell}
        assert members <= set(labels) | {partitions.UNCONDITIONAL}, \
            (f'partition {name!r} of partitions() names labels {sorted(members - set(labels) - {-1})} that '
             'hypotheses() does not put in play')
        partitions.check_partition(cells, max(labels) + 1, name=name)


def test_downloads_name_a_url_or_a_hub_file_at_their_path(example):
    backend, config, _ = example
    for path, source in backend.downloads(config['models']['m']).items():
        assert path.startswith('resources/'), f'downloads() puts {path} outside resources/, where downloads go'
        assert bool(source.url) != bool(source.repo), f'{path}: a Download names a url or a repo, not both: {source}'
        assert source.url or (source.file and path.endswith('/' + source.file)), \
            f'{path}: a hub Download names its file, and the path ends with it: {source}'


#----------------------------------------------------------------------------
# The denoiser and its schedule

@pytest.mark.parametrize('device', DEVICES)
def test_denoiser_keeps_shape_and_dtype_and_is_finite_on_the_grid(example, device):
    backend, config, folder = example
    model, _ = load(backend, config, folder, device)
    sigmas = model.sigmas(config['models']['m']['sampler'])
    x = states(model, 3)
    labels = torch.as_tensor([model.classes[0], model.classes[-1], partitions.UNCONDITIONAL])
    for sigma in sigmas[:-1]:
        out = model.denoiser(at_level(x, sigma), float(sigma), labels)
        assert out.shape == x.shape and out.dtype == x.dtype and out.device == x.device, \
            (f'the denoiser of load() maps x {tuple(x.shape)} {x.dtype} on {x.device} to {tuple(out.shape)} '
             f'{out.dtype} on {out.device} at sigma {sigma:g}: it must keep all three (Model.shape is one sample)')
        assert torch.isfinite(out).all(), f'the denoiser gives non-finite values at sigma {sigma:g}'


def test_grid_decreases_strictly_to_zero_and_round_trips_through_the_network_time(example):
    backend, config, folder = example
    model, _ = load(backend, config, folder, 'cpu')
    for steps in (4, 6, 17):
        sigmas = model.sigmas({**config['models']['m']['sampler'], 'steps': steps})
        assert len(sigmas) == steps + 1 and sigmas[-1] == 0 and np.all(np.diff(sigmas) < 0), \
            f'the schedule of load() gives {steps} steps as {sigmas}: it must give steps + 1 levels decreasing to 0'
        # the start: N(0, init_std^2) at sigma_0, or at sigma_0 = inf standardised (entropic.method.sampler): the limit of
        # x / sigma = x0 / sigma + n is the noise n ~ N(0, I), for every model
        start = model.init_std(sigmas)
        assert sigmas[0] > 0 and (start == 1.0 if np.isinf(sigmas[0]) else start >= sigmas[0]), \
            f"the schedule's init_std {start:g} at sigma {sigmas[0]:g}: the start's spread includes the noise"
        for sigma in sigmas[:-1]:      # float64 interpolation both ways: exact to rounding
            assert model.schedule.sigma(model.schedule.timestep(sigma)) == pytest.approx(sigma, rel=1e-9), \
                f"the schedule's timestep() and sigma() are not inverse at sigma {sigma:g}"


def test_denoiser_returns_its_input_as_sigma_goes_to_zero(example):
    """D(x, sigma) -> x: every parametrisation's x0 estimate is x minus a term of order sigma (EDM's
    c_skip -> 1, c_out ~ sigma; x - sigma eps), so at the lowest level of the grid (sigma <= 0.05) it is
    within 10% of x for any network whose raw output is of order 1, as a random one's is."""
    backend, config, folder = example
    model, _ = load(backend, config, folder, 'cpu')
    sigma = float(model.sigmas(config['models']['m']['sampler'])[-2])
    assert sigma <= 0.05, f"the example's sampler settings end at sigma {sigma:g}: give it a grid reaching 0.05"
    x = states(model, 4)
    labels = torch.as_tensor([model.classes[0]] * 2 + [partitions.UNCONDITIONAL] * 2)
    error = (model.denoiser(x, sigma, labels) - x).square().mean().sqrt()
    assert error < 0.1 * x.square().mean().sqrt(), \
        (f'D(x, sigma = {sigma:g}) is {float(error):.3g} (rms) from x: the denoiser of load() must return the x0 '
         'estimate in EDM coordinates (x = x0 + sigma n), not the noise or a VP-scaled state')


@pytest.mark.parametrize('device', DEVICES)
def test_a_sharded_run_is_deterministic(example, device):
    backend, config, folder = example
    model, _ = load(backend, config, folder, device)
    sigmas = model.sigmas({**config['models']['m']['sampler'], 'steps': 4})
    labels = trajectories.shard_labels(trajectories.trajectory_labels(model.classes[:2], 6), 2, 1)

    def run(seed):
        return trajectories.sample_shard(model.denoiser, model.classes[:2], labels, model.shape, sigmas,
                                         Guidance(scale=2.0), seed, progress=False, device=model.device,
                                         init_std=model.init_std(sigmas))
    first, again, other = run(5), run(5), run(6)
    for key in ('x', 'log_posterior'):
        np.testing.assert_array_equal(first[key], again[key], err_msg=f'{key}: one seed, two results: the '
                                      'denoiser of load() must not draw random numbers of its own')
        assert np.isfinite(first[key]).all(), key
    assert not np.array_equal(first['x'], other['x']), 'two seeds gave the same samples'



@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason='no CUDA device on this machine: the draws on the CPU and on CUDA cannot be compared')
def test_a_shards_draws_are_the_same_on_the_cpu_and_on_cuda(example, monkeypatch):
    """Every random draw of a shard, its initial state and each step's noise, is bit-identical on the CPU and on
    CUDA: all come from a CPU generator seeded from the config (entropic.method.sampler.normal), whereas a CUDA
    generator gives another stream for the same seed. Only the network's arithmetic differs between devices."""
    backend, config, folder = example
    draws = {}
    drawn_by = sampler.normal

    def recording(generator, shape, dtype=torch.float32, device='cpu'):
        out = drawn_by(generator, shape, dtype, device)
        draws[torch.device(device).type].append(out.cpu())
        return out
    monkeypatch.setattr(sampler, 'normal', recording)
    for device in ('cpu', 'cuda'):
        draws[device] = []
        model, _ = load(backend, config, folder, device)
        sigmas = model.sigmas({**config['models']['m']['sampler'], 'steps': 4})
        labels = trajectories.shard_labels(trajectories.trajectory_labels(model.classes[:2], 6), 2, 1)
        trajectories.sample_shard(model.denoiser, model.classes[:2], labels, model.shape, sigmas, Guidance(scale=2.0),
                                  5, progress=False, device=model.device, init_std=model.init_std(sigmas))
    assert len(draws['cpu']) == len(draws['cuda']) == 4      # the initial state and the noise of 3 of the 4 steps
    for step, (on_cpu, on_cuda) in enumerate(zip(draws['cpu'], draws['cuda'])):
        assert on_cpu.dtype == on_cuda.dtype and torch.equal(on_cpu, on_cuda), f'draw {step}'


#----------------------------------------------------------------------------
# The decoder

@pytest.mark.parametrize('device', DEVICES)
def test_decoder_gives_images_in_the_unit_range(example, device):
    """What rule model_images does for the `images` figure: its decoder (decoder_files, load_decoder), or for
    samples that are pixels the default one (entropic.backends.base.pixel_images), makes images of samples."""
    backend, config, folder = example
    if 'images' not in backend.figures:
        pytest.skip(f'backend {backend.name!r} offers no images figure')
    files = place(folder, {'vae': backend.decoder_files(config['models']['m'])})
    decode = backend.load_decoder(files, device)
    assert callable(decode), f'load_decoder() gave {decode!r}: the images figure needs a decoder'
    model, _ = load(backend, config, folder, device)
    images = decode(3 * states(model, 2).cpu())     # beyond the latents' range: the decoder must clip
    assert images.ndim == 4 and images.shape[0] == 2 and images.shape[-1] == 3, \
        f'load_decoder() maps samples {(2, *model.shape)} to {images.shape}: it must give images [N, H, W, 3]'
    assert images.dtype == np.float32 and images.min() >= 0 and images.max() <= 1, \
        f'load_decoder() gives {images.dtype} in [{images.min():g}, {images.max():g}]: it must give float32 in [0, 1]'


def test_samples_that_are_pixels_decode_without_a_decoder():
    """The default decoder: grey [N, 1, H, W], RGB [N, 3, H, W] and flat square [N, h * h] samples in [-1, 1]
    become [N, H, W, 3] in [0, 1], pixel for pixel ((x + 1) / 2, clipped); latents (4 channels) are refused."""
    from entropic.backends.base import pixel_images
    grey = np.array([[[[-1.0, 0.0], [0.5, 3.0]]]], dtype=np.float32)
    expected = np.repeat(np.array([[0.0, 0.5], [0.75, 1.0]], dtype=np.float32)[None, ..., None], 3, axis=-1)
    np.testing.assert_array_equal(pixel_images(grey), expected)
    np.testing.assert_array_equal(pixel_images(grey.reshape(1, 4)), expected)
    rgb = np.stack([grey[:, 0], -grey[:, 0], 0 * grey[:, 0]], axis=1)
    np.testing.assert_array_equal(pixel_images(rgb)[0, 0, 1], [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(pixel_images(rgb)[0, 1, 0], [0.75, 0.25, 0.5])
    with pytest.raises(ValueError, match=r'\(4, 2, 2\) are not pixels.*decoder_files'):
        pixel_images(np.zeros((1, 4, 2, 2)))


def test_the_speciation_figure_draws_samples_that_are_pixels_of_any_shape():
    """plotting.pixel_image, what the speciation figure draws: flat square samples (the digits' 64 values, as
    before: the 8 x 8 image, clipped) and [1, H, W] in [-1, 1]; [3, H, W] as RGB in [0, 1]; latents refused."""
    from entropic.pipeline import plotting
    x = np.random.default_rng(0).normal(0, 2, 64).astype(np.float32)
    np.testing.assert_array_equal(plotting.pixel_image(x), np.clip(x, -1, 1).reshape(8, 8))
    np.testing.assert_array_equal(plotting.pixel_image(x.reshape(1, 4, 16)), np.clip(x, -1, 1).reshape(4, 16))
    rgb = plotting.pixel_image(np.stack([x.reshape(8, 8), -x.reshape(8, 8), 0 * x.reshape(8, 8)]))
    assert rgb.shape == (8, 8, 3) and rgb.min() >= 0 and rgb.max() <= 1 and np.all(rgb[..., 2] == 0.5)
    for shape in ((4, 4, 4), (63,)):
        with pytest.raises(ValueError, match='are not pixels'):
            plotting.pixel_image(np.zeros(shape))
