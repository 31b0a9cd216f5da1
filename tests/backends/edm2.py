"""Tiny networks of the EDM2 architecture written as EDM2 pickles under their real names, and a tiny SD VAE."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
import edm2_synthetic as synthetic  # noqa: E402

NET, GNET = 'edm2-img512-xs-2147483-0.045.pkl', 'edm2-img512-xs-uncond-2147483-0.045.pkl'


def example(folder):
    (folder / 'resources' / 'edm2').mkdir(parents=True, exist_ok=True)
    for name, label_dim, seed in ((NET, 1000, 0), (GNET, 0, 1)):
        synthetic.write_edm2_pickle(folder / 'resources' / 'edm2' / name, synthetic.tiny_network(label_dim, seed),
                                    synthetic.tiny_kwargs(label_dim))
    synthetic.write_tiny_vae(folder / 'resources' / 'sd-vae-ft-mse')
    return {'models': {'m': {'backend': 'edm2', 'net': NET, 'gnet': GNET, 'partitions': 'config/partitions/imagenet.yaml',
                             'sampler': {'steps': 6}, 'batch': 8}}}
