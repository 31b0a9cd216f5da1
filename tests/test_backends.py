"""The backend contract, checked for every registered backend (entropic.backends), the way diffusers runs one
common suite over every scheduler: a backend passes by being registered and having a tiny example
(tests/backends/<name>.py, a model of its real architecture with random weights, nothing downloaded).

Every check runs on the CPU, and on CUDA where a GPU is present (skipped, saying so, where not), so that on a
machine with a GPU one command exercises every backend's device and dtype paths (float16 where it uses it).
"""

import copy
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from entropic import backends, partitions, trajectories
from entropic.configuration import validate_config
from entropic.sampler import Guidance

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = Path(__file__).parent / 'backends'
NAMES = list(backends.registry())
DEVICES = ['cpu', pytest.param('cuda', marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                 reason='no CUDA device on this machine'))]


def example_config(name, folder):
    """The example's config, validated with defaults filled in, its files written under `folder`."""
    path = EXAMPLES / f'{name}.py'
    assert path.is_file(), f'backend {name!r} has no tiny example {path.relative_to(ROOT)}'
    spec = importlib.util.spec_from_file_location(f'backend_example_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.example(Path(folder))
    assert validate_config(config, root=ROOT) == []
    return config


@pytest.fixture(scope='module', params=NAMES)
def example(request, tmp_path_factory):
    """(backend, config, folder) of one registered backend's tiny example."""
    folder = tmp_path_factory.mktemp(request.param)
    return backends.get(request.param), example_config(request.param, folder), folder


def load(backend, config, folder, device):
    spec = config['models']['m']
    hypotheses = backend.hypotheses(spec, config, ROOT)
    files = {k: ([folder / p for p in v] if isinstance(v, list) else folder / v)
             for k, v in backend.network_files('m', spec, 'unguided').items()}
    return backend.load({k: spec[k] for k in backend.load_keys}, files, hypotheses, device), hypotheses


def states(model, count, seed=0):
    """Noisy states [count, *shape] at the model's start, in the model's device."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(count, *model.shape, generator=generator).to(model.device)


def at_level(x, sigma):
    """Standard normal states `x` as the sampler holds them at noise level sigma: x sigma, and at sigma = inf (a
    start from pure noise, entropic.sampler) standardised, x itself."""
    return x if np.isinf(sigma) else x * float(sigma)


#----------------------------------------------------------------------------
# Configuration

def test_every_backend_is_named_and_described():
    assert NAMES and all(backends.get(n).name == n and backends.get(n).description for n in NAMES)
    with pytest.raises(ValueError, match='unknown backend'):
        backends.get('no-such-backend')


def test_a_wrong_value_of_each_own_key_is_refused_naming_the_key(example):
    backend, config, _ = example
    for key, schema in backend.schema.items():
        bad = copy.deepcopy(config)
        bad['models']['m'][key] = 'not-a-mapping' if schema.get('type') == 'object' else {'wrong': 'type'}
        errors = validate_config(bad, root=ROOT)
        assert any(e.startswith(f'config key models.m.{key}') for e in errors), (key, errors)
    missing = copy.deepcopy(config)
    for key in backend.required:
        del missing['models']['m'][key]
    assert all(f"'{key}' is a required property" in '\n'.join(validate_config(copy.deepcopy(missing), root=ROOT))
               for key in backend.required)


def test_keys_of_other_backends_are_refused_naming_the_backend(example):
    backend, config, _ = example
    foreign = sorted({k for b in backends.registry().values() for k in b.schema} - set(backend.schema))
    for key in foreign:
        bad = copy.deepcopy(config)
        bad['models']['m'][key] = 1
        assert f"models.m: {key} do not apply to the {backend.name!r} backend" in '\n'.join(validate_config(bad, root=ROOT))


#----------------------------------------------------------------------------
# Hypotheses, partitions, files

def test_hypotheses_and_partitions_resolve(example):
    backend, config, folder = example
    spec = config['models']['m']
    hypotheses = backend.hypotheses(spec, config, ROOT)
    assert hypotheses and all(isinstance(k, int) and k >= 0 and isinstance(v, str) and v for k, v in hypotheses.items())
    place = lambda path: path if Path(path).is_absolute() else folder / path
    files = {k: [place(p) for p in v] if isinstance(v, list) else place(v)
             for k, v in backend.partition_files(spec, config, ROOT).items()}
    labels = list(hypotheses)
    parts = backend.all_partitions(spec, files, labels)
    assert parts['classes'] == [[k] for k in labels]
    for name, cells in parts.items():
        members = {k for cell in cells for k in cell}
        assert members <= set(labels) | {partitions.UNCONDITIONAL}, name
        partitions.check_partition(cells, max(labels) + 1, name=name)


def test_downloads_name_a_url_or_a_hub_file_at_their_path(example):
    backend, config, _ = example
    for path, source in backend.downloads(config['models']['m']).items():
        assert path.startswith('resources/'), path
        assert bool(source.url) != bool(source.repo), (path, source)
        assert source.url or (source.file and path.endswith('/' + source.file)), (path, source)


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
        assert out.shape == x.shape and out.dtype == x.dtype and out.device == x.device
        assert torch.isfinite(out).all(), sigma


def test_grid_decreases_strictly_to_zero_and_round_trips_through_the_network_time(example):
    backend, config, folder = example
    model, _ = load(backend, config, folder, 'cpu')
    for steps in (4, 6, 17):
        sigmas = model.sigmas({**config['models']['m']['sampler'], 'steps': steps})
        assert len(sigmas) == steps + 1 and sigmas[-1] == 0 and np.all(np.diff(sigmas) < 0)
        # the start: N(0, init_std^2) at sigma_0, or at sigma_0 = inf standardised (entropic.sampler): the limit of
        # x / sigma = x0 / sigma + n is the noise n ~ N(0, I), for every model
        start = model.init_std(sigmas)
        assert sigmas[0] > 0 and (start == 1.0 if np.isinf(sigmas[0]) else start >= sigmas[0])
        for sigma in sigmas[:-1]:      # float64 interpolation both ways: exact to rounding
            assert model.schedule.sigma(model.schedule.timestep(sigma)) == pytest.approx(sigma, rel=1e-9)


def test_denoiser_returns_its_input_as_sigma_goes_to_zero(example):
    """D(x, sigma) -> x: every parametrisation's x0 estimate is x minus a term of order sigma (EDM's
    c_skip -> 1, c_out ~ sigma; x - sigma eps), so at the lowest level of the grid (sigma <= 0.05) it is
    within 10% of x for any network whose raw output is of order 1, as a random one's is."""
    backend, config, folder = example
    model, _ = load(backend, config, folder, 'cpu')
    sigma = float(model.sigmas(config['models']['m']['sampler'])[-2])
    assert sigma <= 0.05
    x = states(model, 4)
    labels = torch.as_tensor([model.classes[0]] * 2 + [partitions.UNCONDITIONAL] * 2)
    error = (model.denoiser(x, sigma, labels) - x).square().mean().sqrt()
    assert error < 0.1 * x.square().mean().sqrt()


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
        np.testing.assert_array_equal(first[key], again[key])
        assert np.isfinite(first[key]).all()
    assert not np.array_equal(first['x'], other['x'])


#----------------------------------------------------------------------------
# The decoder

@pytest.mark.parametrize('device', DEVICES)
def test_decoder_gives_images_in_the_unit_range(example, device):
    backend, config, folder = example
    files = [folder / p for p in backend.decoder_files(config['models']['m'])]
    decode = backend.load_decoder({'vae': files}, device) if files else None
    if decode is None:
        assert 'images' not in backend.figures     # nothing to decode: its samples are the data
        return
    model, _ = load(backend, config, folder, device)
    images = decode(3 * states(model, 2).cpu())     # beyond the latents' range: the decoder must clip
    assert images.ndim == 4 and images.shape[0] == 2 and images.shape[-1] == 3
    assert images.dtype == np.float32 and images.min() >= 0 and images.max() <= 1
