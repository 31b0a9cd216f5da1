"""The trained-model track's plumbing: trajectory labels, shards, and the curves read from them, checked
with an exact Gaussian-mixture denoiser standing in for the network (so the truth is known)."""

import numpy as np
import pytest
import torch

from entropic.theory import exact, mixtures, noise
from entropic.files import store
from entropic.method import posterior, sampler
from entropic.pipeline import trajectories
from entropic.method.denoisers import GMMDenoiser
from entropic.theory.partitions import UNCONDITIONAL

K = 3


def test_labels_are_balanced_interleaved_and_sharded_evenly():
    labels = trajectories.trajectory_labels(K, 25)                   # 6 of each class and of the reference
    assert labels[:5].tolist() == [0, 1, 2, UNCONDITIONAL, 0]
    assert np.bincount(labels.numpy() + 1).tolist() == [6, 6, 6, 6]
    shards = [trajectories.shard_labels(labels, 3, s) for s in range(3)]
    assert sorted(torch.cat(shards).tolist()) == sorted(labels.tolist())
    with pytest.raises(ValueError, match='cannot cover'):
        trajectories.trajectory_labels(K, 3)
    with pytest.raises(ValueError, match='shard 3 of 3'):
        trajectories.shard_labels(labels, 3, 3)


@pytest.fixture(scope='module')
def mixture():
    # Three well-separated classes (sigma_S = 6.4, unit component variance).
    return mixtures.simplex_mixture(K, 6, 6.0, np.random.default_rng(0), variance=1.0)


@pytest.fixture(scope='module')
def shard_files(mixture, tmp_path_factory):
    folder = tmp_path_factory.mktemp('shards')
    labels = trajectories.trajectory_labels(K, 4000)
    sigmas = noise.EDMSchedule().sigmas(dict(steps=64, sigma_min=0.002, sigma_max=400.0, rho=7))
    paths = []
    for shard in range(2):
        arrays = trajectories.sample_shard(GMMDenoiser(mixture), K, trajectories.shard_labels(labels, 2, shard), mixture.dim,
                                      torch.as_tensor(sigmas), sampler.Guidance(), seed=10 + shard,
                                      keep_denoised=2 if shard == 0 else 0, keep_distances=True, progress=False)
        paths.append(folder / f'shard-{shard}.npz')
        store.save_npz(paths[-1], **arrays)
    return paths


@pytest.mark.parametrize('cells', [[[0], [1], [2]], [[0, 1], [2]], [[1], [UNCONDITIONAL]]],
                         ids=['classes', 'partition', 'class-vs-reference'])
def test_curves_from_merged_shards_match_the_exact_entropy(mixture, shard_files, cells):
    run = trajectories.merge_shards(shard_files)
    assert run['log_posterior'].shape == (64, 4000, K + 1) and run['denoised'].shape == (64, 2, mixture.dim)
    curve = posterior.tracked_curve(run['sigma'], run['hypotheses'], run['labels'], run['log_posterior'], cells)
    reference = exact.exact_entropy_curve(mixture.project(), run['sigma'],
                                          exact.Hypotheses.from_partition(mixture.weights, cells), 512, 16,
                                          np.random.default_rng(1))
    # 4 SE plus the paper's kernel's over-confidence at 64 steps, measured on this mixture with 4,000
    # trajectories: -0.014 nats for `classes` near sigma = 2.7, -0.023 for the binary form below sigma = 1.
    tolerance = 4 * np.hypot(curve['H_se'], reference['H_se']) + 0.03
    assert np.all(np.abs(curve['H'] - reference['H']) <= tolerance)
    if UNCONDITIONAL in cells[1]:
        assert curve["n"][0] == 2 * 1000         # class 1 and the unconditional trajectories, half each
    # The combined readout (model option `estimate: combined`) of the same merged shards: same tolerance.
    combined = posterior.compensated_curve(run['sigma'], run['hypotheses'], run['labels'], run['log_posterior'],
                                           run['distances'], cells)
    assert run['distances'].shape == (64, 4000, K + 1, K + 1)
    assert np.all(np.abs(combined['H'] - reference['H']) <= 4 * np.hypot(combined['H_se'], reference['H_se']) + 0.03)
    assert combined['H_se'].max() < curve['H_se'].max()


def test_merge_names_the_bad_shard(shard_files, tmp_path):
    good = store.load_npz(shard_files[0])
    bad = dict(good, log_posterior=good['log_posterior'][:, :-1])
    store.save_npz(tmp_path / 'short.npz', **bad)
    with pytest.raises(ValueError, match='short.npz: log_posterior'):
        trajectories.merge_shards([shard_files[0], tmp_path / 'short.npz'])
    store.save_npz(tmp_path / 'bare.npz', **{k: v for k, v in store.load_npz(shard_files[1]).items() if k != 'distances'})
    with pytest.raises(ValueError, match='only some shards of the run keep distances'):
        trajectories.merge_shards([shard_files[0], tmp_path / 'bare.npz'])
    nan = dict(good, x=np.full_like(good['x'], np.nan))
    store.save_npz(tmp_path / 'nan.npz', **nan)
    with pytest.raises(ValueError, match='nan.npz: NaN'):
        trajectories.merge_shards([nan_path := tmp_path / 'nan.npz'])
    assert nan_path.exists()
    (tmp_path / 'truncated.npz').write_bytes(shard_files[0].read_bytes()[:1000])
    with pytest.raises(ValueError, match='truncated.npz'):
        trajectories.merge_shards([tmp_path / 'truncated.npz'])


def test_a_shard_that_starts_at_pure_noise_keeps_only_its_finite_levels(mixture):
    # A flow-matching grid starts at sigma = inf (noise.FlowSchedule), where the tracked posterior is the prior:
    # that level is no level of a curve (log sigma = inf). The shard keeps the others, the same numbers as the
    # sampler's history from its second level on, and every call of the first step is counted.
    import math
    from test_sampler import FromPureNoise
    labels = trajectories.shard_labels(trajectories.trajectory_labels(K, 40), 2, 1)
    sigmas = noise.FlowSchedule(shift=3.0).sigmas(dict(steps=8))
    assert math.isinf(sigmas[0])
    arrays = trajectories.sample_shard(FromPureNoise(mixture), K, labels, mixture.dim, sigmas, sampler.Guidance(2.0),
                                       seed=3, keep_denoised=2, keep_distances=True, progress=False, init_std=1.0)
    np.testing.assert_array_equal(arrays['sigma'], sigmas[1:-1][::-1])
    assert arrays['log_posterior'].shape == (7, 20, K + 1) and arrays['denoised'].shape == (7, 2, mixture.dim)
    assert arrays['distances'].shape == (7, 20, K + 1, K + 1) and int(arrays['calls']) == 20 * (K + 1) * 8
    x, generator = sampler.initial_state(20, mixture.dim, 1.0, 3)
    out = sampler.sample(FromPureNoise(mixture), sigmas, labels, x, generator, guidance=sampler.Guidance(2.0),
                         hypotheses=list(range(K)) + [UNCONDITIONAL])
    np.testing.assert_array_equal(arrays['log_posterior'], out['log_posterior'][1:].flip(0).numpy())
    np.testing.assert_array_equal(arrays['x'], out['x'].numpy())
    curve = posterior.tracked_curve(arrays['sigma'], arrays['hypotheses'], arrays['labels'], arrays['log_posterior'],
                                    [[0], [1], [2]])
    assert np.isfinite(curve['H']).all() and np.isfinite(curve['rate']).all()
