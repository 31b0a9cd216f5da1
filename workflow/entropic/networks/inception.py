"""FID's feature network: the Inception-v3 graph of 2015-12-05 that TensorFlow's FID uses (Szegedy et al. 2016;
Heusel et al. 2017), our own implementation with module names as in the weights file.

We run its PyTorch port by pytorch-fid (weights `pt_inception-2015-12-05-6726825d.pth`, the graph's weights in
torchvision's layout): images resized bilinearly to 299 x 299 and scaled to [-1, 1]; TensorFlow's average pools
exclude the padding, and the last block pools by max (a quirk of that graph). The features are the 2048-d final
average pool (entropic.studies.image_metrics computes FID from them). Our resize is pytorch-fid's, not the
TensorFlow graph's own: FIDs agree with EDM2's published ones only to that resize's difference.
"""

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from entropic.files.download import INCEPTION_URL

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
