"""A tiny digits network (random weights) for the DDPM-sampled digits backend."""

import torch

from entropic import networks


def example(folder):
    torch.manual_seed(0)
    net = networks.EDMPrecond(dim=64, num_classes=10, sigma_data=0.75, width=16, blocks=1)
    networks.save_checkpoint(folder / 'results/models/m/checkpoint.pt', net, dict(num_classes=10))
    return {'models': {'m': {'backend': 'digits-vp', 'partitions': 'config/partitions/digits.yaml',
                             'network': {'width': 16, 'blocks': 1}, 'sampler': {'steps': 6}}}}
