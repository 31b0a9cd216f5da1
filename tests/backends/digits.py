"""A tiny digits model: an EDMPrecond of the digits' shape (64 pixels, 10 classes) with random weights."""

import torch

from entropic.networks import mlp


def example(folder):
    torch.manual_seed(0)
    net = mlp.EDMPrecond(dim=64, num_classes=10, sigma_data=0.75, width=16, blocks=1)
    mlp.save_checkpoint(folder / 'results/models/m/checkpoint.pt', net, dict(num_classes=10))
    return {'models': {'m': {'backend': 'digits', 'partitions': 'config/partitions/digits.yaml',
                             'network': {'width': 16, 'blocks': 1}, 'sampler': {'steps': 6}}}}
