"""FID and FD-DINOv2 of generated images, the metrics EDM2 reports: feature networks, statistics, distances.

Both are the Frechet distance between Gaussians fitted to the features of real and generated images
(Heusel et al. 2017), in the feature space of
- FID: the 2048-d pool features of the Inception-v3 graph of 2015-12-05 that TensorFlow's FID uses. We run
  its PyTorch port by pytorch-fid (weights `pt_inception-2015-12-05-6726825d.pth`, the graph's weights
  in torchvision's layout): images resized bilinearly to 299 x 299 and scaled to [-1, 1]; TensorFlow's
  average pools exclude the padding, and the last block pools by max (a quirk of that graph).
- FD-DINOv2 (Stein et al. 2023): the 1024-d class token of DINOv2 ViT-L/14 after its final layer norm, as
  EDM2 computes it: a bicubic antialiased resize to 224 x 224, ImageNet normalisation. We run the
  transformers port (`facebook/dinov2-large`) with the position embeddings interpolated to the 16 x 16
  patch grid as torch.hub's DINOv2 does (a scale factor of (16 + 0.1) / 37, no antialiasing), not as
  transformers does (an output size), so that the features are those of EDM2's reference statistics.

Images enter as uint8 [N, 3, H, W], as EDM2 quantises its decoded images. Reference statistics are NVlabs'
`dataset-refs/*.pkl` (a dict {'fid': {'mu', 'sigma'}, 'fd_dinov2': {...}}), read without running code, or an
.npz of ours with the same content (`<metric>/mu`, `<metric>/sigma`). Our Inception resize is pytorch-fid's,
not the TensorFlow graph's own: FIDs agree with EDM2's published ones only to that resize's difference.
"""

import pickle
import types
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from entropic.files import store
from entropic.studies.sample_metrics import frechet_distance_of_samples, spread
from entropic.files.download import DINOV2_REPO, INCEPTION_URL

METRICS = ('fid', 'fd_dinov2')
# The feature network each metric of sample_metrics reads (a key of image_features' `networks`).
FEATURES = {'fid': 'fid', 'fd_dinov2': 'fd_dinov2', 'spread': 'fd_dinov2'}

#----------------------------------------------------------------------------
# FID's Inception-v3 (Szegedy et al. 2016, the graph of 2015-12-05), module names as in the weights file.

class ConvBN(nn.Module):
    """Convolution without bias, batch norm with TensorFlow's epsilon, ReLU."""

    def __init__(self, cin, cout, kernel, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))

def tf_avg_pool(x):
    """3x3 average pool, stride 1, whose border averages count only the pixels inside (TensorFlow's SAME)."""
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)

class MixedA(nn.Module):                     # 35 x 35: 1x1 | 5x5 | double 3x3 | pool
    def __init__(self, cin, pool_features):
        super().__init__()
        self.branch1x1 = ConvBN(cin, 64, 1)
        self.branch5x5_1, self.branch5x5_2 = ConvBN(cin, 48, 1), ConvBN(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = ConvBN(cin, 64, 1)
        self.branch3x3dbl_2, self.branch3x3dbl_3 = ConvBN(64, 96, 3, padding=1), ConvBN(96, 96, 3, padding=1)
        self.branch_pool = ConvBN(cin, pool_features, 1)

    def forward(self, x):
        return torch.cat([self.branch1x1(x), self.branch5x5_2(self.branch5x5_1(x)),
                          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          self.branch_pool(tf_avg_pool(x))], 1)

class MixedB(nn.Module):                     # 35 -> 17: strided 3x3 | double 3x3 | max pool
    def __init__(self, cin):
        super().__init__()
        self.branch3x3 = ConvBN(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = ConvBN(cin, 64, 1)
        self.branch3x3dbl_2, self.branch3x3dbl_3 = ConvBN(64, 96, 3, padding=1), ConvBN(96, 96, 3, stride=2)

    def forward(self, x):
        return torch.cat([self.branch3x3(x), self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          F.max_pool2d(x, 3, stride=2)], 1)

class MixedC(nn.Module):                     # 17 x 17: factorised 7x7 convolutions
    def __init__(self, cin, c7):
        super().__init__()
        row, col = dict(kernel=(1, 7), padding=(0, 3)), dict(kernel=(7, 1), padding=(3, 0))
        self.branch1x1 = ConvBN(cin, 192, 1)
        self.branch7x7_1, self.branch7x7_2, self.branch7x7_3 = ConvBN(cin, c7, 1), ConvBN(c7, c7, **row), ConvBN(c7, 192, **col)
        self.branch7x7dbl_1 = ConvBN(cin, c7, 1)
        self.branch7x7dbl_2, self.branch7x7dbl_3 = ConvBN(c7, c7, **col), ConvBN(c7, c7, **row)
        self.branch7x7dbl_4, self.branch7x7dbl_5 = ConvBN(c7, c7, **col), ConvBN(c7, 192, **row)
        self.branch_pool = ConvBN(cin, 192, 1)

    def forward(self, x):
        single = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        double = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            double = layer(double)
        return torch.cat([self.branch1x1(x), single, double, self.branch_pool(tf_avg_pool(x))], 1)

class MixedD(nn.Module):                     # 17 -> 8: strided 3x3 | 7x7 then strided 3x3 | max pool
    def __init__(self, cin):
        super().__init__()
        self.branch3x3_1, self.branch3x3_2 = ConvBN(cin, 192, 1), ConvBN(192, 320, 3, stride=2)
        self.branch7x7x3_1 = ConvBN(cin, 192, 1)
        self.branch7x7x3_2 = ConvBN(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = ConvBN(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = ConvBN(192, 192, 3, stride=2)

    def forward(self, x):
        seven = self.branch7x7x3_1(x)
        for layer in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            seven = layer(seven)
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), seven, F.max_pool2d(x, 3, stride=2)], 1)

class MixedE(nn.Module):                     # 8 x 8: 3x3 split into parallel 1x3 and 3x1
    def __init__(self, cin, pool):
        super().__init__()
        self.pool = pool                     # 'avg' (Mixed_7b) or 'max' (Mixed_7c, as in the FID graph)
        self.branch1x1 = ConvBN(cin, 320, 1)
        self.branch3x3_1 = ConvBN(cin, 384, 1)
        self.branch3x3_2a, self.branch3x3_2b = ConvBN(384, 384, (1, 3), padding=(0, 1)), ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1, self.branch3x3dbl_2 = ConvBN(cin, 448, 1), ConvBN(448, 384, 3, padding=1)
        self.branch3x3dbl_3a, self.branch3x3dbl_3b = ConvBN(384, 384, (1, 3), padding=(0, 1)), ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = ConvBN(cin, 192, 1)

    def forward(self, x):
        a = self.branch3x3_1(x)
        b = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = tf_avg_pool(x) if self.pool == 'avg' else F.max_pool2d(x, 3, stride=1, padding=1)
        return torch.cat([self.branch1x1(x), self.branch3x3_2a(a), self.branch3x3_2b(a),
                          self.branch3x3dbl_3a(b), self.branch3x3dbl_3b(b), self.branch_pool(pooled)], 1)

class InceptionFID(nn.Module):
    """uint8 images [N, 3, H, W] -> FID features [N, 2048] (the final average pool)."""

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = ConvBN(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = ConvBN(32, 32, 3)
        self.Conv2d_2b_3x3 = ConvBN(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = ConvBN(64, 80, 1)
        self.Conv2d_4a_3x3 = ConvBN(80, 192, 3)
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = MixedA(192, 32), MixedA(256, 64), MixedA(288, 64)
        self.Mixed_6a = MixedB(288)
        self.Mixed_6b, self.Mixed_6c = MixedC(768, 128), MixedC(768, 160)
        self.Mixed_6d, self.Mixed_6e = MixedC(768, 160), MixedC(768, 192)
        self.Mixed_7a = MixedD(768)
        self.Mixed_7b, self.Mixed_7c = MixedE(1280, 'avg'), MixedE(2048, 'max')
        self.fc = nn.Linear(2048, 1008)      # the graph's logits: in the weights file, not used for features

    def forward(self, images):
        x = images.float() / 255
        x = F.interpolate(x, size=(299, 299), mode='bilinear', align_corners=False) * 2 - 1
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(F.max_pool2d(x, 3, stride=2)))
        x = F.max_pool2d(x, 3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)
        return x.mean(dim=(2, 3))

def load_inception(path, device='cpu'):
    """InceptionFID with the weights file (a plain state dict, read with weights_only), every weight present
    and matching; ValueError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'{path}: no FID Inception weights (rule download fetches {INCEPTION_URL})')
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:          # a corrupt or foreign file: torch raises many types
        raise ValueError(f'{path}: not a readable weights file ({type(err).__name__}: {err})') from None
    net = InceptionFID()
    if not isinstance(state, dict):
        raise ValueError(f'{path}: holds a {type(state).__name__}, not a state dict')
    try:
        missing, unexpected = net.load_state_dict(state, strict=False)
    except RuntimeError as err:
        raise ValueError(f'{path}: the weights do not fit FID Inception-v3 ({err})') from None
    missing = [k for k in missing if not k.endswith('num_batches_tracked')]      # a counter, absent in old files
    if missing or unexpected:
        raise ValueError(f'{path}: not the FID Inception-v3 weights (missing {missing[:3]}, unexpected {unexpected[:3]})')
    return net.eval().requires_grad_(False).to(device)

#----------------------------------------------------------------------------
# DINOv2 ViT-L/14 (transformers), features as EDM2 computes them.

def _hub_position_embeddings(self, embeddings, height, width):
    """DINOv2's own interpolation of its position embeddings to a new patch grid (torch.hub model)."""
    grid = round((self.position_embeddings.shape[1] - 1) ** 0.5)
    new_h, new_w = height // self.patch_size, width // self.patch_size
    if new_h == grid and new_w == grid:
        return self.position_embeddings
    patches = self.position_embeddings[:, 1:].float().reshape(1, grid, grid, -1).permute(0, 3, 1, 2)
    patches = F.interpolate(patches, scale_factor=((new_h + 0.1) / grid, (new_w + 0.1) / grid), mode='bicubic')
    patches = patches.permute(0, 2, 3, 1).reshape(1, new_h * new_w, -1).to(self.position_embeddings.dtype)
    return torch.cat([self.position_embeddings[:, :1], patches], dim=1)

class DINOv2Features(nn.Module):
    """uint8 images [N, 3, H, W] -> DINOv2 class tokens [N, 1024] after the final layer norm."""

    MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

    def __init__(self, model):
        super().__init__()
        self.model = model
        embeddings = model.embeddings
        embeddings.interpolate_pos_encoding = types.MethodType(_hub_position_embeddings, embeddings)

    def forward(self, images):
        x = F.interpolate(images.float(), size=(224, 224), mode='bicubic', antialias=True) / 255
        x = (x - x.new_tensor(self.MEAN).reshape(1, 3, 1, 1)) / x.new_tensor(self.STD).reshape(1, 3, 1, 1)
        return self.model(pixel_values=x).pooler_output

def load_dinov2(folder, device='cpu'):
    """DINOv2Features from a local folder (config.json + model.safetensors), no hub access."""
    from transformers import Dinov2Model
    try:
        model = Dinov2Model.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as err:
        raise FileNotFoundError(f'{folder}: cannot load DINOv2 ({err}); rule download fetches {DINOV2_REPO}') from None
    return DINOv2Features(model.eval().requires_grad_(False)).to(device)

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
