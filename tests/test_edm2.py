"""The EDM2 backend (entropic.backends.edm2, entropic.networks.edm2_unet): our network against the published layout, the
safe pickle loader, the latent codec and the denoiser, on tiny networks of the same architecture written as EDM2
pickles by our own code."""

import math
import os
import pickle
import sys

import numpy as np
import pytest
import torch

from entropic.method import sampler
from entropic.networks import diffusers_folder, edm2_denoiser, edm2_latents, edm2_pickle, edm2_unet
from entropic.theory.partitions import UNCONDITIONAL

from tests.support import edm2_synthetic as synthetic
from tests.support.rounding import float32_network_atol

@pytest.fixture(scope='module')
def pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp('edm2')
    nets = synthetic.write_tiny_pair(folder, 'cond.pkl', 'uncond.pkl')
    return folder, nets

def fp16_rounded(net, label_dim):
    """The network as the pickle stores it: weights rounded to float16."""
    copy = edm2_unet.Precond(**synthetic.tiny_kwargs(label_dim))
    copy.load_state_dict({k: v.half().float() for k, v in net.state_dict().items()})
    return copy.eval()

#----------------------------------------------------------------------------

@pytest.mark.slow
def test_network_layout_matches_edm2_xs_state_dicts():
    """NVlabs/edm2 training/networks_edm2.py, instantiated for img512-xs: XS has 124,713,253 parameters in 203 tensors, XS-uncond 124,201,253 in 202."""
    for label_dim, params, tensors in ((1000, 124_713_253, 203), (0, 124_201_253, 202)):
        net = edm2_unet.Precond(img_resolution=64, img_channels=4, label_dim=label_dim, model_channels=128)
        assert sum(p.numel() for p in net.parameters()) == params
        assert len(net.state_dict()) == tensors
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert shapes['unet.enc.64x64_conv.weight'] == (128, 5, 3, 3)
    assert shapes['unet.emb_noise.weight'] == (512, 128)
    assert shapes['unet.out_conv.weight'] == (4, 128, 3, 3)
    assert shapes['logvar_linear.weight'] == (1, 128)
    assert 'unet.dec.8x8_in0.attn_qkv.weight' in shapes and 'unet.dec.64x64_block3.conv_skip.weight' in shapes

def test_synthetic_pickle_loads_strictly_without_running_embedded_code(pair):
    folder, (cond, uncond) = pair
    for name, net, label_dim in (('cond.pkl', cond, 10), ('uncond.pkl', uncond, 0)):
        loaded = edm2_pickle.load_network(folder / name)     # the embedded source raises SystemExit if executed
        assert 'torch_utils' not in sys.modules and 'dnnlib' not in sys.modules
        reference = fp16_rounded(net, label_dim)
        for key, value in reference.state_dict().items():
            assert torch.equal(loaded.state_dict()[key], value), key
        x, sigma = torch.randn(3, 4, 8, 8), torch.tensor([0.01, 1.0, 50.0])
        one_hot = torch.nn.functional.one_hot(torch.tensor([1, 4, 9]), 10) if label_dim else None
        with torch.no_grad():
            assert torch.equal(loaded(x, sigma, one_hot), reference(x, sigma, one_hot))

def test_pickle_records_the_edm2_latent_scaling(pair):
    folder, _ = pair
    scale, bias = edm2_latents.latent_affine(folder / 'cond.pkl')
    np.testing.assert_allclose(scale, [0.11990407, 0.10822511, 0.13477089, 0.15243903], rtol=1e-7)
    np.testing.assert_allclose(bias, [-0.69664264, -0.3517316, -0.016172506, 0.32774392], rtol=1e-6)

def test_malicious_pickle_is_refused_before_anything_runs(tmp_path):
    marker = tmp_path / 'ran'

    class Exploit:
        def __reduce__(self):
            return os.system, (f'touch {marker}',)

    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps({'ema': Exploit()}))
    with pytest.raises(ValueError, match=r'evil\.pkl.*refused.*system'):
        edm2_pickle.load_network(path)
    assert not marker.exists()

def test_pickle_with_a_missing_or_misshapen_weight_or_unknown_argument_is_refused(pair):
    folder, _ = pair
    path = folder / 'cond.pkl'

    def out_conv(record):
        return record.state['_modules']['unet'].state['_modules']['out_conv'].state['_parameters']

    record = edm2_pickle.read_pickle(path)['ema']
    del out_conv(record)['weight']
    with pytest.raises(ValueError, match=r'(?s)cond\.pkl.*Missing key.*unet\.out_conv\.weight'):
        edm2_pickle.network_from_record(record, path)
    record = edm2_pickle.read_pickle(path)['ema']
    out_conv(record)['weight'] = torch.zeros(4, 8, 3, 3)
    with pytest.raises(ValueError, match=r'(?s)cond\.pkl.*size mismatch.*out_conv'):
        edm2_pickle.network_from_record(record, path)
    record = edm2_pickle.read_pickle(path)['ema']
    record.state['_init_kwargs']['attention_everywhere'] = True
    with pytest.raises(ValueError, match=r'(?s)cond\.pkl.*attention_everywhere'):
        edm2_pickle.network_from_record(record, path)

def test_truncated_or_missing_pickle_is_named(pair, tmp_path):
    folder, _ = pair
    cut = tmp_path / 'cut.pkl'
    cut.write_bytes((folder / 'cond.pkl').read_bytes()[:5000])
    with pytest.raises(ValueError, match='cut.pkl'):
        edm2_pickle.load_network(cut)
    with pytest.raises(FileNotFoundError, match='download rule'):
        edm2_pickle.load_network(tmp_path / 'absent.pkl')

#----------------------------------------------------------------------------

def test_magnitude_preserving_operations_keep_unit_magnitude():
    """mp_silu, mp_sum and mp_cat map unit-normal inputs to unit second moment (EDM2 Eqs. 81, 88, 103);
    the tolerance is 5 standard errors of a mean of n squares (Var[x^2] <= 3 for these)."""
    n = 400_000
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, generator=g, dtype=torch.float64), torch.randn(n, generator=g, dtype=torch.float64)
    tol = 5 * math.sqrt(3 / n)
    assert abs(float((edm2_unet.mp_silu(a) ** 2).mean()) - 1) < 0.01        # 0.596 is rounded: exact to 1%
    assert abs(float((edm2_unet.mp_sum(a, b, 0.3) ** 2).mean()) - 1) < tol
    cat = edm2_unet.mp_cat(a.reshape(-1, 4, 1), b.reshape(-1, 2, 2).reshape(-1, 4, 1)[:, :2], 0.5)
    assert abs(float((cat ** 2).mean()) - 1) < 2 * tol
    w = edm2_unet.normalize(torch.randn(8, 5, 3, 3, generator=g))
    np.testing.assert_allclose((w ** 2).mean(dim=(1, 2, 3)).numpy(), 1, rtol=1e-3)

def test_preconditioning_is_the_edm_formula(pair):
    folder, _ = pair
    net = edm2_pickle.load_network(folder / 'cond.pkl')
    x, sigma = torch.randn(2, 4, 8, 8), torch.tensor([0.3, 7.0])
    one_hot = torch.nn.functional.one_hot(torch.tensor([2, 5]), 10).float()
    sd = 0.5
    s = sigma.reshape(-1, 1, 1, 1)
    with torch.no_grad():
        F = net.unet(x / (s ** 2 + sd ** 2).sqrt(), sigma.log() / 4, one_hot)
        expected = sd ** 2 / (s ** 2 + sd ** 2) * x + s * sd / (s ** 2 + sd ** 2).sqrt() * F
        torch.testing.assert_close(net(x, sigma, one_hot), expected)

def test_the_float16_path_keeps_the_embedding_inputs_in_float32_as_nvlabs_does(pair, monkeypatch):
    """NVlabs' Precond (training/networks_edm2.py) casts only the image to float16 on its float16 path: c_noise and
    the one-hot labels enter the U-Net in float32, so the noise and label embeddings are computed in float32 and
    are the float32 path's bit for bit (the same float32 operations on the same inputs). Rounding c_noise to
    float16 instead (a relative error up to 2^-11) moves them, and through them every block's modulation."""
    folder, _ = pair
    net = edm2_pickle.load_network(folder / 'cond.pkl')
    x, sigma = torch.randn(3, 4, 8, 8, generator=torch.Generator().manual_seed(1)), torch.tensor([0.013, 1.7, 61.0])
    one_hot = torch.nn.functional.one_hot(torch.tensor([1, 4, 9]), 10)
    seen = {}
    hooks = [net.unet.register_forward_pre_hook(lambda module, args: seen.__setitem__('inputs', args)),
             net.unet.emb_noise.register_forward_hook(lambda module, args, out: seen.__setitem__('noise', out)),
             net.unet.emb_label.register_forward_hook(lambda module, args, out: seen.__setitem__('label', out))]
    with torch.no_grad():
        net(x, sigma, one_hot)
        float32 = dict(seen)
        monkeypatch.setattr(net, 'unet_dtype', lambda device: torch.float16)   # the CUDA path, on the CPU
        net(x, sigma, one_hot)
    for hook in hooks:
        hook.remove()
    image, c_noise, labels = seen['inputs']
    assert image.dtype == torch.float16 and c_noise.dtype == labels.dtype == torch.float32
    assert torch.equal(c_noise, float32['inputs'][1]) and torch.equal(labels, float32['inputs'][2])
    for name in ('noise', 'label'):
        assert seen[name].dtype == torch.float32 and torch.equal(seen[name], float32[name]), name

def test_a_conditional_network_called_without_labels_is_refused(pair):
    # NVlabs' Precond substitutes zero labels; ours refuses: a zero label is no unconditional model for a network
    # trained without label dropout, and EDM2's reference is the separate unconditional network.
    folder, _ = pair
    net = edm2_pickle.load_network(folder / 'cond.pkl')
    with pytest.raises(ValueError, match='one-hot class labels.*separate unconditional network'):
        net(torch.zeros(1, 4, 8, 8), torch.tensor([1.0]))

@pytest.mark.slow
def test_denoiser_routes_the_reference_to_the_unconditional_net_in_any_batch(pair):
    folder, _ = pair
    net, gnet = edm2_pickle.load_network(folder / 'cond.pkl'), edm2_pickle.load_network(folder / 'uncond.pkl')
    labels = torch.tensor([3, UNCONDITIONAL, 0, 3, UNCONDITIONAL])
    x = torch.randn(5, 4, 8, 8, dtype=torch.float64)
    whole = edm2_denoiser.EDM2Denoiser(net, gnet)(x, 2.0, labels)
    chunked = edm2_denoiser.EDM2Denoiser(net, gnet, max_batch=2)(x, 2.0, labels)
    assert whole.dtype == torch.float64 and whole.shape == x.shape
    # Batches of other sizes: float32 rounding in another order, a few units of the output's scale per layer.
    tolerance = float32_network_atol(whole)
    torch.testing.assert_close(whole, chunked, rtol=0, atol=tolerance)
    with torch.no_grad():
        for i, label in enumerate(labels.tolist()):
            row = x[i:i + 1].float()
            single = gnet(row, torch.tensor([2.0])) if label == UNCONDITIONAL else \
                net(row, torch.tensor([2.0]), torch.nn.functional.one_hot(torch.tensor([label]), 10))
            torch.testing.assert_close(whole[i:i + 1].float(), single, rtol=0, atol=tolerance)
    with pytest.raises(ValueError, match='unconditional'):
        edm2_denoiser.EDM2Denoiser(net)(x, 2.0, labels)

def test_posterior_variance_is_the_learned_mse(pair):
    """e^u(sigma) / weight(sigma), weight = (sigma^2 + sd^2) / (sigma sd)^2 (EDM2 Eq. 21)."""
    folder, _ = pair
    net, gnet = edm2_pickle.load_network(folder / 'cond.pkl'), edm2_pickle.load_network(folder / 'uncond.pkl')
    denoiser = edm2_denoiser.EDM2Denoiser(net, gnet)
    var = denoiser.posterior_variance(1.5, torch.tensor([1, UNCONDITIONAL]))
    for value, model in zip(var.tolist(), (net, gnet)):
        _, logvar = model(torch.zeros(1, 4, 8, 8), torch.tensor([1.5]),
                          torch.zeros(1, 10) if model.label_dim else None, return_logvar=True)
        assert value == pytest.approx(math.exp(float(logvar)) * (1.5 * 0.5) ** 2 / (1.5 ** 2 + 0.25), rel=1e-6)

@pytest.mark.slow
def test_tracking_with_edm2_is_finite_from_sigma_80_to_0002_in_float32_and_float16(pair):
    folder, _ = pair
    denoiser = edm2_denoiser.EDM2Denoiser(edm2_pickle.load_network(folder / 'cond.pkl'), edm2_pickle.load_network(folder / 'uncond.pkl'))
    sigmas = [80.0, 20.0, 3.0, 0.5, 0.05, 0.002, 0.0]
    labels = torch.tensor([1, 7, UNCONDITIONAL, 1])
    for dtype in (torch.float32, torch.float16):
        g = torch.Generator().manual_seed(0)
        x_init = (80.0 * torch.randn(4, 4, 8, 8, generator=g)).to(dtype)
        out = sampler.sample(denoiser, sigmas, labels, x_init, g, guidance=sampler.Guidance(scale=2.0),
                             hypotheses=[1, 7, UNCONDITIONAL])
        assert torch.isfinite(out['log_posterior']).all() and torch.isfinite(out['x'].float()).all()
        assert out['x'].dtype == dtype

def test_vae_decoding_uses_the_edm2_scaling_and_unit_range(tmp_path):
    vae = synthetic.write_tiny_vae(tmp_path / 'vae')
    loaded = diffusers_folder.load_vae(tmp_path / 'vae')
    latents = torch.randn(3, 4, 8, 8)
    images = edm2_latents.decode(loaded, latents, batch_size=2)
    assert images.shape == (3, 16, 16, 3) and images.min() >= 0 and images.max() <= 1
    raw = (latents - torch.as_tensor(edm2_latents.LATENT_BIAS).reshape(1, -1, 1, 1)) / torch.as_tensor(edm2_latents.LATENT_SCALE).reshape(1, -1, 1, 1)
    with torch.no_grad():
        direct = vae.decode(raw).sample.clamp(0, 1).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(images, direct, atol=1e-5)
    with pytest.raises(FileNotFoundError, match='download rule'):
        diffusers_folder.load_vae(tmp_path / 'absent')
