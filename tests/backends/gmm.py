"""A tiny network on a 3-component mixture in 4 dimensions (random weights), and the experiment's files."""

import torch

from entropic.theory import mixtures
from entropic.files import store
from entropic.networks import mlp

EXPERIMENT = {'kind': 'simplex', 'components': 3, 'dim': 4, 'signal_per_dim': 1.0, 'variance': 1.0}


def example(folder):
    mixture, partitions = mixtures.build_experiment('k3-d4', EXPERIMENT, seed=0)
    experiment = folder / 'results/gmm/k3-d4'
    store.save_npy(mixture.means, experiment / 'means.npy')
    store.write_json(dict(variance=mixture.variance, weights=mixture.weights.tolist()), experiment / 'mixture.json')
    store.write_json({name: dict(cells=cells) for name, cells in partitions.items()}, experiment / 'partitions.json')
    torch.manual_seed(0)
    net = mlp.EDMPrecond(dim=4, num_classes=3, width=16, blocks=1)
    mlp.save_checkpoint(folder / 'results/models/m/checkpoint.pt', net, dict(num_classes=3))
    return {'gmm': {'experiments': {'k3-d4': dict(EXPERIMENT)}},
            'models': {'m': {'backend': 'gmm', 'experiment': 'k3-d4', 'network': {'width': 16, 'blocks': 1},
                             'sampler': {'steps': 6}}}}
