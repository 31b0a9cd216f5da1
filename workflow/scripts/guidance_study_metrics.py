"""Rule guidance_study_metrics: quality and diversity of every method's samples, with CIs over disjoint folds,
measured as the model's backend measures samples (entropic.backends: digits in a real-digit classifier's
features; a network trained on a mixture and the gmm track's mixture by exact class accuracy and KL; a
pretrained latent model by FID and FD-DINOv2 of its decoded images against reference statistics)."""

import json

import pandas as pd
import torch

from entropic import backends
from entropic.theory import mixtures
from entropic.studies import sample_metrics
from entropic.files import job_log, store

log = job_log.start(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
data = store.load_npz(snakemake.input.samples, keys=['labels', 'methods'])    # every array of the file, read once
methods, labels = json.loads(str(data['methods'])), data['labels']
study = snakemake.params.study
# The tuning set's interval search reads only the metric it minimises (rules/common.smk, study_selection): the
# tuning table has that metric alone, and a metric network no other metric needs is not run (FID's Inception).
tuning = snakemake.wildcards.set == 'tuning'

if snakemake.wildcards.track == 'gmm':
    mixture = mixtures.load_mixture(snakemake.input.means, store.read_json(snakemake.input.mixture))
    wanted = sample_metrics.only(lambda a, b: sample_metrics.mixture_metrics(mixture, a, b), ['kl'] if tuning else None)
    measure = lambda x, y, folds: sample_metrics.replicate_metrics(wanted, x, y, folds)
else:
    backend = backends.get(snakemake.params.spec['backend'])
    training = backend.training_data(snakemake.params.data, snakemake.input, snakemake.params.data_seed) \
        if backend.trains else None
    measure = backend.study_metrics(snakemake.params.spec, snakemake.input, training, snakemake.params.seed, log,
                                    metrics=[backend.study_metric] if tuning else None)

rows = []
for name, info in methods.items():
    if f'x/{name}' not in data:
        raise ValueError(f'{snakemake.input.samples}: missing arrays [{f"x/{name}"!r}]')
    row = measure(data[f'x/{name}'], labels, study['folds'])
    rows.append(dict(model=snakemake.wildcards.name, set=snakemake.wildcards.set, method=name, samples=len(labels),
                     **info, **row))
    log.info(f"{name}: " + ', '.join(f'{k} {row[k]:.4g} [{row[k + "_lo"]:.4g}, {row[k + "_hi"]:.4g}]'
                                       for k in row if not k.endswith(('_lo', '_hi'))))
store.write_csv(pd.DataFrame(rows), snakemake.output[0])
