"""The trained-network backend: preconditioning, the null label, checkpoints, deterministic training, quality checks."""

import numpy as np
import pytest
import torch

from entropic.backends import digits
from entropic.networks import mlp, training
from entropic.studies import quality
from entropic.method.denoisers import UNCONDITIONAL
from rounding import float32_network_atol     # pytest puts tests/ on sys.path


def small_net(seed=0, **kwargs):
    torch.manual_seed(seed)
    return mlp.EDMPrecond(**{**dict(dim=6, num_classes=3, sigma_data=0.7, width=32, blocks=2), **kwargs})


def randomise_output(net, seed=1):
    """Replace the zero-initialised output layer so that F is not identically 0."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        net.body.out.weight.copy_(torch.randn(net.body.out.weight.shape, generator=g))
        net.body.out.bias.copy_(torch.randn(net.body.out.bias.shape, generator=g))
    return net


def toy_data(n=300, dim=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(3).repeat(n // 3)
    centres = torch.randn(3, dim, generator=g)
    return centres[labels] + 0.2 * torch.randn(n, dim, generator=g), labels


def short_training(net, seed, steps=30):
    data, labels = toy_data()
    return training.train_denoiser(net, data, labels, steps=steps, batch_size=64, warmup=5, seed=seed, progress=False)


def test_preconditioning_matches_table_1_and_tends_to_identity_at_small_sigma():
    net = randomise_output(small_net()).eval()
    x = torch.randn(5, 6, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 2, UNCONDITIONAL, 0])
    with torch.no_grad():
        sigma, sd = 1.3, net.sigma_data
        F = net.body(x / (sigma ** 2 + sd ** 2) ** 0.5, torch.full((5,), np.log(sigma) / 4),
                     torch.tensor([0, 1, 2, 3, 0]))
        expected = sd ** 2 / (sigma ** 2 + sd ** 2) * x + sigma * sd / (sigma ** 2 + sd ** 2) ** 0.5 * F
        # The network rounds its own c_in x and c_noise in float32: the body's output moves by rounding.
        torch.testing.assert_close(net(x, sigma, labels), expected, rtol=0, atol=float32_network_atol(expected))
        # c_skip -> 1 and c_out ~ sigma -> 0: D(x; sigma) -> x.
        assert (net(x, 1e-6, labels) - x).abs().max() < 1e-4
        assert (net(x, 1e-6, labels) - x).abs().max() < (net(x, 1e-2, labels) - x).abs().max()


def test_a_batch_of_few_noise_level_and_label_pairs_computes_each_embedding_once_with_the_same_values():
    # A sampler's batch: one sigma, 40 states under each of the 3 classes and the null label.
    net = randomise_output(small_net()).eval()
    body = net.body
    x = torch.randn(160, 6, generator=torch.Generator().manual_seed(3))
    c_noise, labels = torch.full((160,), 0.2), torch.arange(4).repeat_interleave(40)
    rows = []
    body.noise_mlp.register_forward_hook(lambda module, args, out: rows.append(len(out)))
    with torch.no_grad():
        shared = body(x, c_noise, labels)
        # the definition: the embedding of every row, every block shifted by its own row's
        emb = torch.nn.functional.silu(body.noise_mlp(mlp.fourier_features(c_noise, body.frequencies))
                                       + body.class_emb(labels))
        h = body.inp(x)
        for block in body.blocks:
            h = block(h, block.emb(emb))
        direct = body.out(torch.nn.functional.silu(body.out_norm(h)))
    assert rows == [4, 160]         # 4 distinct pairs in the shared evaluation, then the definition's 160 rows
    torch.testing.assert_close(shared, direct, rtol=0, atol=float32_network_atol(direct))
    with torch.no_grad():           # a training batch (a sigma per row) takes the direct path
        body(x, torch.linspace(-1, 1, 160), labels)
    assert rows[-1] == 160


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_shapes_and_dtypes_are_preserved(dtype):
    net = randomise_output(small_net())
    x = torch.randn(4, 6, dtype=dtype)
    labels = torch.tensor([0, 1, UNCONDITIONAL, 2])
    with torch.no_grad():
        for sigma in (0.5, torch.tensor([0.1, 1.0, 10.0, 80.0])):
            out = net(x, sigma, labels)
            assert out.shape == x.shape and out.dtype == dtype and torch.isfinite(out).all()
    den = mlp.NetworkDenoiser(net)
    images = torch.randn(4, 2, 3, dtype=dtype)                  # [B, ...] is flattened and restored
    out = den(images, 2.0, labels)
    assert out.shape == images.shape and out.dtype == dtype and not out.requires_grad
    torch.testing.assert_close(out.reshape(4, 6).float(), net(images.reshape(4, 6).float(), 2.0, labels).detach(),
                               rtol=1e-5, atol=1e-5)


def test_unconditional_label_is_the_null_embedding_and_learns_its_own_denoiser():
    net = randomise_output(small_net()).eval()
    x = torch.randn(3, 6)
    with torch.no_grad():
        null = net.body(x / 1.49 ** 0.5, torch.zeros(3), torch.full((3,), net.num_classes))   # sigma = 1: c_noise = 0
        torch.testing.assert_close(net(x, 1.0, torch.full((3,), UNCONDITIONAL)),
                                   0.7 ** 2 / 1.49 * x + 0.7 / 1.49 ** 0.5 * null)
    ema, _ = short_training(small_net(), seed=0)
    with torch.no_grad():
        uncond = ema(x, 1.0, torch.full((3,), UNCONDITIONAL))
        for k in range(3):
            assert not torch.allclose(uncond, ema(x, 1.0, torch.full((3,), k)), atol=1e-4)


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    ema, _ = short_training(small_net(), seed=0, steps=5)
    path = tmp_path / 'net.pt'
    meta = dict(steps=5, seed=0, note='test', losses=[0.5, 0.25])
    mlp.save_checkpoint(path, ema, meta)
    assert [p.name for p in tmp_path.iterdir()] == ['net.pt']      # no temporary file left behind
    loaded, loaded_meta = mlp.load_checkpoint(path)
    assert loaded_meta == meta and not loaded.training
    x, labels = torch.randn(7, 6, dtype=torch.float64), torch.tensor([0, 1, 2, UNCONDITIONAL, 0, 1, 2])
    assert torch.equal(mlp.NetworkDenoiser(ema)(x, 0.3, labels), mlp.NetworkDenoiser(loaded)(x, 0.3, labels))


def test_unreadable_checkpoints_raise_value_errors_naming_the_file(tmp_path):
    good = tmp_path / 'good.pt'
    mlp.save_checkpoint(good, small_net(), {})
    truncated = tmp_path / 'truncated.pt'
    truncated.write_bytes(good.read_bytes()[:200])
    garbage = tmp_path / 'garbage.pt'
    garbage.write_bytes(b'not a checkpoint at all')
    wrong = tmp_path / 'wrong.pt'
    torch.save({'weights': torch.zeros(3)}, wrong)
    mismatched = tmp_path / 'mismatched.pt'
    payload = torch.load(good, weights_only=True)
    payload['kwargs']['width'] = 16
    torch.save(payload, mismatched)
    for path in (truncated, garbage, wrong, mismatched, tmp_path / 'missing.pt'):
        with pytest.raises(ValueError, match=path.name):
            mlp.load_checkpoint(path)


def test_code_in_a_checkpoint_is_never_executed(tmp_path):
    path = tmp_path / 'evil.pt'
    torch.save(dict(format=mlp.CHECKPOINT_FORMAT, kwargs={}, state_dict={}, meta={'obj': Exploding()}), path)
    with pytest.raises(ValueError, match='evil.pt'):
        mlp.load_checkpoint(path)


class Exploding:
    def __reduce__(self):
        return (pytest.fail, ('unpickling executed code',))


def test_training_is_deterministic_given_the_seed():
    a, _ = short_training(small_net(), seed=3)
    b, _ = short_training(small_net(), seed=3)
    c, _ = short_training(small_net(), seed=4)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    assert any(not torch.equal(value, c.state_dict()[key]) for key, value in a.state_dict().items())


def test_training_loss_decreases():
    _, losses = short_training(small_net(), seed=0, steps=300)
    assert losses.shape == (300,) and np.isfinite(losses).all()
    assert losses[-100:].mean() < 0.7 * losses[:20].mean()


def test_digits_are_bundled_and_scaled_to_plus_minus_one():
    x, labels = digits.load_digits()
    assert x.shape == (1797, 64) and x.dtype == torch.float32 and labels.dtype == torch.long
    assert x.min() == -1 and x.max() == 1 and set(labels.tolist()) == set(range(digits.NUM_CLASSES))
    assert np.prod(digits.IMAGE_SHAPE) == x.shape[1]


def test_quality_checks_on_real_digits():
    x, labels = digits.load_digits()
    held_out = torch.arange(len(x)) % 5 == 0
    clf = quality.reference_classifier(x[~held_out], labels[~held_out], seed=0)
    assert quality.classifier_accuracy(clf, x[held_out], labels[held_out]) > 0.97
    train = x[~held_out]
    assert quality.nearest_copies(train[:50] + 0.01, train) == 1.0          # copies of training images
    assert quality.nearest_copies(x[held_out], train) < 0.01                  # distinct real digits are not copies
