"""Feature networks and reference statistics in their real file formats, with random weights (test helper):
FID's Inception-v3 as a plain state dict under pytorch-fid's file name, a tiny DINOv2 in the layout of
facebook/dinov2-large, and statistics in NVlabs' dataset-refs pickle layout."""

import pickle
from pathlib import Path

import numpy as np
import torch

from entropic.files import download
from entropic.networks.inception import InceptionFID

DINOV2_HIDDEN = 32


def random_inception(seed=0):
    """InceptionFID with random weights and non-trivial batch-norm statistics (so every layer acts)."""
    torch.manual_seed(seed)
    net = InceptionFID()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
            elif isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(module.weight)
    return net.eval()


def write_inception(folder, seed=0):
    """The weights file as pytorch-fid publishes it: a state dict without batch-norm counters (float16 to keep
    the test file small: loading casts to float32)."""
    state = {k: v.half() if v.is_floating_point() else v for k, v in random_inception(seed).state_dict().items()
             if not k.endswith('num_batches_tracked')}
    path = Path(folder) / download.INCEPTION_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


def write_dinov2(folder, seed=0):
    """A one-layer DINOv2 with the real patch size and position grid (518 / 14 = 37), saved as the hub model is."""
    from transformers import Dinov2Config, Dinov2Model
    torch.manual_seed(seed)
    config = Dinov2Config(hidden_size=DINOV2_HIDDEN, num_hidden_layers=1, num_attention_heads=2, patch_size=14,
                          image_size=518, mlp_ratio=2, layerscale_value=1.0, layer_norm_eps=1e-6)
    Dinov2Model(config).eval().save_pretrained(folder)
    return Path(folder)


def write_reference_pickle(path, dims=None, seed=0):
    """Reference statistics in NVlabs' layout: a plain pickle of {'num_images', 'fid': {mu, sigma}, 'fd_dinov2': ...}."""
    dims = dims or {'fid': 2048, 'fd_dinov2': DINOV2_HIDDEN}
    rng = np.random.default_rng(seed)
    stats = {'num_images': 1000}
    for metric, d in dims.items():
        a = rng.normal(size=(d, d)) / np.sqrt(d)
        stats[metric] = {'mu': rng.normal(size=d), 'sigma': a @ a.T}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'wb') as f:
        pickle.dump(stats, f)
    return stats


def write_feature_resources(resources):
    """Everything a pretrained model's guidance study measures with, under resources/ as the download rules
    would place it."""
    resources = Path(resources)
    write_inception(resources / 'fid')
    write_dinov2(resources / 'dinov2-large')
    return write_reference_pickle(resources / 'dataset-refs' / 'img512.pkl')


def write_study_stand_ins(folder, spec):
    """What a pretrained model's guidance study (`spec['guidance_study']`, if any) reads, at the paths of its
    config under the working directory `folder`: the feature networks where the download rule puts them, and
    its reference statistics, as NVlabs' pickle where the download rule fetches one (resources/dataset-refs/)
    or else as a folder of "real images" that rule reference_statistics turns into the named .npz."""
    from PIL import Image
    study = spec.get('guidance_study')
    if study is None:
        return
    folder = Path(folder)
    write_inception(folder / 'resources' / 'fid')
    write_dinov2(folder / 'resources' / 'dinov2-large')
    statistics = study['statistics']
    if statistics.startswith('resources/dataset-refs/'):
        write_reference_pickle(folder / statistics)
        return
    photos = folder / statistics.removesuffix('.npz')
    photos.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(6):     # two sizes: the rule batches images by size
        size = (24, 24) if i < 4 else (20, 28)
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(photos / f'{i}.png')
