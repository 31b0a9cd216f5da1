"""FID and FD-DINOv2 of generated images, the metrics EDM2 reports: image reading, features, reference
statistics, distances.

Both are the Frechet distance between Gaussians fitted to the features of real and generated images
(Heusel et al. 2017; entropic.studies.sample_metrics), in the feature space of
- FID: the 2048-d pool features of the Inception-v3 graph of 2015-12-05 that TensorFlow's FID uses, in
  pytorch-fid's port (entropic.networks.inception, which says how it differs from the TensorFlow graph);
- FD-DINOv2 (Stein et al. 2023): the 1024-d class token of DINOv2 ViT-L/14, as EDM2 computes it
  (entropic.networks.dinov2).

Images enter as uint8 [N, 3, H, W], as EDM2 quantises its decoded images. Reference statistics are NVlabs'
`dataset-refs/*.pkl` (a dict {'fid': {'mu', 'sigma'}, 'fd_dinov2': {...}}), read without running code, or an
.npz of ours with the same content (`<metric>/mu`, `<metric>/sigma`).
"""

import pickle
from pathlib import Path

import numpy as np
import torch

from entropic.files import store
from entropic.studies.sample_metrics import frechet_distance_of_samples, spread

METRICS = ('fid', 'fd_dinov2')
# The feature network each metric of sample_metrics (below) reads (a key of image_features' `networks`).
FEATURES = {'fid': 'fid', 'fd_dinov2': 'fd_dinov2', 'spread': 'fd_dinov2'}

#----------------------------------------------------------------------------
# Features and statistics.

def to_uint8(images):
    """Images in [0, 1], [N, H, W, 3] -> uint8 [N, 3, H, W] as EDM2 quantises them (x * 255, truncated)."""
    images = torch.as_tensor(images)
    return (images.clamp(0, 1) * 255).to(torch.uint8).permute(0, 3, 1, 2)

def image_features(networks, batches, device='cpu'):
    """{metric: features [N, d] float64} of every network on the uint8 image batches (an iterable)."""
    out = {name: [] for name in networks}
    with torch.no_grad():
        for images in batches:
            images = torch.as_tensor(images).to(device)
            for name, net in networks.items():
                out[name].append(net(images).double().cpu().numpy())
    return {name: np.concatenate(parts) for name, parts in out.items()}

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg')

def image_files(folder):
    """The PNG and JPEG files of a folder and its subfolders, sorted; FileNotFoundError naming it when none."""
    files = sorted(p for p in Path(folder).rglob('*') if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if len(files) < 2:
        raise FileNotFoundError(f'{folder}: {len(files)} PNG or JPEG images; reference statistics need at least 2 '
                                '(thousands for a meaningful FID)')
    return files

def read_image_batches(paths, batch):
    """uint8 batches [n, 3, H, W] of RGB images, at most `batch` each; a batch ends where the image size changes."""
    from PIL import Image
    pending = []
    for path in paths:
        try:
            with Image.open(path) as image:
                array = np.asarray(image.convert('RGB'))
        except OSError as err:
            raise ValueError(f'{path}: not a readable image ({err})') from None
        if pending and (len(pending) == batch or array.shape != pending[0].shape):
            yield torch.from_numpy(np.stack(pending)).permute(0, 3, 1, 2)
            pending = []
        pending.append(array)
    if pending:
        yield torch.from_numpy(np.stack(pending)).permute(0, 3, 1, 2)

def statistics(features):
    """(mean, covariance with n - 1) of features [N, d]."""
    features = np.asarray(features, dtype=np.float64)
    if len(features) < 2:
        raise ValueError(f'{len(features)} feature rows: need at least 2 for a covariance')
    return features.mean(0), np.cov(features, rowvar=False)

def read_reference(path):
    """{metric: (mu, sigma)} for both METRICS from a reference statistics file (NVlabs' .pkl or our .npz);
    errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'{path}: no reference statistics (an EDM2 dataset-refs .pkl, downloaded by rule '
                                'download, or an .npz built by rule reference_statistics)')
    try:
        if path.suffix == '.npz':
            with np.load(path, allow_pickle=False) as data:
                stats = {m: {'mu': data[f'{m}/mu'], 'sigma': data[f'{m}/sigma']}
                         for m in METRICS if f'{m}/mu' in data.files}
        else:
            with open(path, 'rb') as f:
                stats = store.AllowlistUnpickler(f, store.NUMPY_PICKLE_GLOBALS, 'a statistics pickle').load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, AttributeError, OSError) as err:
        raise ValueError(f'{path}: not readable reference statistics ({type(err).__name__}: {err})') from None
    out = {}
    for metric in METRICS:
        entry = stats.get(metric) if isinstance(stats, dict) else None
        if not isinstance(entry, dict) or 'mu' not in entry or 'sigma' not in entry:
            raise ValueError(f'{path}: no {metric} statistics (a dict {{mu, sigma}} under {metric!r})')
        mu, sigma = np.asarray(entry['mu'], dtype=np.float64), np.asarray(entry['sigma'], dtype=np.float64)
        if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)) or not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
            raise ValueError(f'{path}: {metric} statistics of shapes {mu.shape} and {sigma.shape}, or not finite')
        out[metric] = (mu, sigma)
    return out

def write_reference(path, stats, num_images):
    """Our .npz of reference statistics {metric: (mu, sigma)}, written atomically."""
    arrays = {'num_images': np.asarray(num_images)}
    for metric, (mu, sigma) in stats.items():
        arrays[f'{metric}/mu'], arrays[f'{metric}/sigma'] = mu, sigma
    store.save_npz(path, **arrays)

#----------------------------------------------------------------------------
# Metrics of a set of generated images.

def check_features(features, reference, source):
    """Every network's features have the reference's dimension; ValueError naming `source` otherwise."""
    for metric, values in features.items():
        if values.shape[1] != len(reference[metric][0]):
            raise ValueError(f'{source}: {metric} reference statistics are {len(reference[metric][0])}-d, its network '
                             f'gives {values.shape[1]}-d features: statistics of another network')

def feature_networks(metrics):
    """The feature networks (keys of FEATURES' values) that the `metrics` of sample_metrics read, in METRICS order;
    ValueError naming a metric it does not measure."""
    unknown = [m for m in metrics if m not in FEATURES]
    if unknown:
        raise ValueError(f'no image metric {unknown}: sample_metrics measures {list(FEATURES)}')
    return [name for name in METRICS if name in {FEATURES[m] for m in metrics}]

def sample_metrics(features, reference, rows, labels, metrics=tuple(FEATURES)):
    """The `metrics` (of FEATURES, all by default) of the images `rows`: fid and fd_dinov2 against the reference,
    and spread: the mean over classes of the images' mean distance to their class centroid in DINOv2 features
    (diversity within a class). `features` holds the networks' features those metrics read (feature_networks)."""
    feature_networks(metrics)
    out = {metric: frechet_distance_of_samples(features[metric][rows], *reference[metric])
           for metric in METRICS if metric in metrics}
    if 'spread' in metrics:
        dino, labels = features['fd_dinov2'][rows], np.asarray(labels)
        classes, counts = np.unique(labels, return_counts=True)
        if counts.min() < 2:
            raise ValueError(f'{counts.min()} sample of class {classes[counts.argmin()]} in a fold: the within-class '
                             'spread needs 2; raise guidance_study.samples or lower its folds')
        out['spread'] = float(np.mean([spread(dino[labels == k]) for k in classes]))
    return out
