"""Synthetic EDM2 network pickles in the exact structure of NVlabs' files, written by our own code.

An EDM2 pickle (NVlabs/edm2 training/training_loop.py, torch_utils/persistence.py) is a plain pickle of a dnnlib EasyDict with `ema` (the network cast to
float16), `encoder`, `dataset_kwargs` and `loss_fn`. Every network class is a "persistent class": it
pickles as a call of torch_utils.persistence._reconstruct_persistent_obj(meta) whose meta holds the
class name, the whole source of its module (which NVlabs' loader executes) and the object's state.
We reproduce that byte structure from our own Precond, without NVlabs' code: stand-in modules named
`torch_utils.persistence` and `dnnlib.util` exist only while the pickle is written.
"""

import contextlib
import pickle
import sys
import types

import numpy as np
import torch

from entropic.networks import edm2_latents, edm2_unet

# What each of our classes is called in NVlabs' networks_edm2.py.
EDM2_CLASS_NAMES = {edm2_unet.Precond: 'Precond', edm2_unet.UNet: 'UNet', edm2_unet.UNetBlock: 'Block',
                    edm2_unet.MPWeight: 'MPConv', edm2_unet.FourierEmbedding: 'MPFourier'}
# Attributes NVlabs' classes keep that ours do not need (their forward passes read them).
NVLABS_ATTRIBUTES = {
    edm2_unet.UNetBlock: lambda m: dict(out_channels=m.conv_res1.weight.shape[0], resample_filter=[1, 1], dropout=0),
    edm2_unet.MPWeight: lambda m: dict(out_channels=m.weight.shape[0]),
}
# The embedded "source": if a loader ever executed it, the test run would stop here.
TRAP_SOURCE = "raise SystemExit('the embedded module source of an EDM2 pickle was executed')\n"

def tiny_kwargs(label_dim=10):
    """Constructor arguments of a tiny network of the EDM2 architecture: 8x8 latents, 16 base channels,
    two resolutions, attention at 4x4 (what a pickle records as `_init_kwargs`)."""
    return dict(img_resolution=8, img_channels=4, label_dim=label_dim, model_channels=16, channel_mult=[1, 2],
                attn_resolutions=[4], channels_per_head=16, dropout=0.0, use_fp16=True)

def tiny_network(label_dim=10, seed=0):
    """A tiny Precond with random weights, random Fourier features and non-zero gains (so every branch acts)."""
    net = edm2_unet.Precond(**tiny_kwargs(label_dim))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if name.endswith('freqs'):
                tensor.copy_(2 * np.pi * torch.randn(tensor.shape, generator=generator))
            elif name.endswith('phases'):
                tensor.copy_(2 * np.pi * torch.rand(tensor.shape, generator=generator))
            elif tensor.ndim == 0:      # emb_gain, out_gain: zero at EDM2's init, trained to non-zero values
                tensor.fill_(0.2 + 0.6 * float(torch.rand((), generator=generator)))
            else:
                tensor.copy_(torch.randn(tensor.shape, generator=generator))
    return net.eval()

@contextlib.contextmanager
def _nvlabs_names():
    """Stand-ins for the two NVlabs modules a pickle refers to by name, present only inside the block."""
    persistence = types.ModuleType('torch_utils.persistence')
    util = types.ModuleType('dnnlib.util')

    def _reconstruct_persistent_obj(meta):
        raise AssertionError('never called: only its name is pickled')

    class EasyDict(dict):
        pass

    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    _reconstruct_persistent_obj.__module__ = 'torch_utils.persistence'
    _reconstruct_persistent_obj.__qualname__ = '_reconstruct_persistent_obj'
    EasyDict.__module__, EasyDict.__qualname__ = 'dnnlib.util', 'EasyDict'
    util.EasyDict = EasyDict
    names = {'torch_utils': types.ModuleType('torch_utils'), 'torch_utils.persistence': persistence,
             'dnnlib': types.ModuleType('dnnlib'), 'dnnlib.util': util}
    clash = [n for n in names if n in sys.modules]
    if clash:
        raise RuntimeError(f'modules {clash} are already imported: cannot stand in for them')
    sys.modules.update(names)
    try:
        yield persistence, util
    finally:
        for name in names:
            sys.modules.pop(name, None)

class _Persistent:
    """Pickles as _reconstruct_persistent_obj(meta), like NVlabs' persistent classes."""

    def __init__(self, reconstruct, class_name, state):
        self.reconstruct = reconstruct
        self.meta = dict(type='class', version=6, module_src=TRAP_SOURCE, class_name=class_name, state=state)

    def __reduce__(self):
        return self.reconstruct, (self.meta,)

def _convert(module, reconstruct, init_kwargs=None):
    """A module as NVlabs pickles it: persistent classes as records, containers as plain torch modules."""
    children = {name: _convert(child, reconstruct) for name, child in module._modules.items()}
    state = dict(module.__dict__, _modules=children)
    state.update(NVLABS_ATTRIBUTES.get(type(module), lambda m: {})(module))
    if type(module) in EDM2_CLASS_NAMES:
        state.update(_init_args=(), _init_kwargs=dict(init_kwargs or {}))
        return _Persistent(reconstruct, EDM2_CLASS_NAMES[type(module)], state)
    copy = object.__new__(type(module))      # e.g. ModuleDict: pickled by torch's default reduce
    copy.__dict__.update(state)
    return copy

def write_edm2_pickle(path, net, init_kwargs):
    """Write `net` (our Precond) as an EDM2 network pickle: ema in float16, the Stability VAE encoder with
    EDM2's latent scaling, dataset_kwargs and loss_fn, as NVlabs' training loop and reconstruct_phema write it."""
    with _nvlabs_names() as (persistence, util):
        reconstruct = persistence._reconstruct_persistent_obj
        half = edm2_unet.Precond(**init_kwargs)
        half.load_state_dict(net.state_dict())
        half = half.eval().requires_grad_(False).to(torch.float16)
        encoder_kwargs = dict(vae_name='stabilityai/sd-vae-ft-mse')
        encoder = _Persistent(reconstruct, 'StabilityVAEEncoder', dict(
            training=True, vae_name=encoder_kwargs['vae_name'], scale=edm2_latents.LATENT_SCALE.copy(),
            bias=edm2_latents.LATENT_BIAS.copy(), batch_size=8, _vae=None, _init_args=(), _init_kwargs=encoder_kwargs))
        loss_fn = _Persistent(reconstruct, 'EDM2Loss', dict(P_mean=-0.4, P_std=1.0, sigma_data=0.5,
                                                            _init_args=(), _init_kwargs={}))
        data = util.EasyDict(encoder=encoder, loss_fn=loss_fn, dataset_kwargs=util.EasyDict(
            class_name='training.dataset.ImageFolderDataset', path='datasets/img512-sd.zip', use_labels=True))
        data['ema'] = _convert(half, reconstruct, init_kwargs)
        with open(path, 'wb') as f:
            pickle.dump(data, f)

def write_tiny_pair(folder, cond_name, uncond_name, seed=0):
    """The conditional and the unconditional tiny network as EDM2 pickles; returns (cond, uncond) nets."""
    nets = []
    for name, label_dim, offset in ((cond_name, 10, 0), (uncond_name, 0, 1)):
        net = tiny_network(label_dim, seed + offset)
        write_edm2_pickle(f'{folder}/{name}', net, tiny_kwargs(label_dim))
        nets.append(net)
    return nets

def write_tiny_vae(folder, seed=0):
    """A tiny diffusers AutoencoderKL (4 latent channels, 2x down) saved in the layout of sd-vae-ft-mse."""
    from diffusers import AutoencoderKL
    torch.manual_seed(seed)
    vae = AutoencoderKL(block_out_channels=[4, 8], in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=['DownEncoderBlock2D'] * 2, up_block_types=['UpDecoderBlock2D'] * 2,
                        norm_num_groups=2)
    vae.save_pretrained(folder)
    return vae
