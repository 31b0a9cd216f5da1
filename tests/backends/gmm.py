"""A tiny network on a 3-component mixture in 4 dimensions (random weights), and the experiment's files."""

import torch

from entropic import gmm, io, networks

EXPERIMENT = {'kind': 'simplex', 'components': 3, 'dim': 4, 'signal_per_dim': 1.0, 'variance': 1.0}


def example(folder):
    mixture, partitions = gmm.build_experiment('k3-d4', EXPERIMENT, seed=0)
    experiment = folder / 'results/gmm/k3-d4'
    io.save_npy(mixture.means, experiment / 'means.npy')
    io.write_json(dict(variance=mixture.variance, weights=mixture.weights.tolist()), experiment / 'mixture.json')
    io.write_json({name: dict(cells=cells) for name, cells in partitions.items()}, experiment / 'partitions.json')
    torch.manual_seed(0)
    net = networks.EDMPrecond(dim=4, num_classes=3, width=16, blocks=1)
    networks.save_checkpoint(folder / 'results/models/m/checkpoint.pt', net, dict(num_classes=3))
    return {'gmm': {'experiments': {'k3-d4': dict(EXPERIMENT)}},
            'models': {'m': {'backend': 'gmm', 'experiment': 'k3-d4', 'network': {'width': 16, 'blocks': 1},
                             'sampler': {'steps': 6}}}}
