"""Tiny networks of the EDM2 architecture written as EDM2 pickles under their real names, and a tiny SD VAE."""

from entropic import backends
from tests.support import edm2_synthetic as synthetic, feature_synthetic

NET, GNET = 'edm2-img512-xs-2147483-0.045.pkl', 'edm2-img512-xs-uncond-2147483-0.045.pkl'


def stand_ins(folder, spec):
    """Every pickle the model entry `spec` samples from (its `net` and `gnet`, and each run's own), the SD VAE, and
    what its guidance study reads, at the paths of its config: the conditional nets of 1000 classes, `gnet`
    unconditional."""
    backend = backends.get('edm2')
    pickles = {}
    for run in spec.get('runs', {'unguided': {}}).values():
        for key, path in backend.pickles(spec, run).items():
            pickles[path] = 0 if key == 'gnet' else 1000
    for seed, (path, label_dim) in enumerate(sorted(pickles.items())):
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        synthetic.write_edm2_pickle(folder / path, synthetic.tiny_network(label_dim, seed), synthetic.tiny_kwargs(label_dim))
    synthetic.write_tiny_vae(folder / 'resources' / 'sd-vae-ft-mse')
    feature_synthetic.write_study_stand_ins(folder, spec)


def example(folder):
    spec = {'backend': 'edm2', 'net': NET, 'gnet': GNET, 'partitions': 'config/partitions/imagenet.yaml',
            'sampler': {'steps': 6}, 'batch': 8}
    stand_ins(folder, spec)
    return {'models': {'m': spec}}
