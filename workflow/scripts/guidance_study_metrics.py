"""Rule guidance_study_metrics: quality and diversity of every method's samples, with CIs over disjoint folds.
Digits: classifier accuracy, FD, precision, recall and spread in a real-digit classifier's feature space.
Gaussian mixture: exact class-assignment accuracy and KL to the true components."""

import json

import pandas as pd

from entropic import gmm, guidance_study, io, quality, trained

log = io.job_logger(snakemake.log[0])
data = io.load_npz(snakemake.input.samples, keys=['labels', 'methods'])
methods, labels = json.loads(str(data['methods'])), data['labels']
if snakemake.params.data['backend'] == 'exact-mixture':
    mixture = gmm.load_mixture(snakemake.input.means, io.read_json(snakemake.input.mixture))
else:
    x_real, labels_real, _, mixture = trained.training_data(snakemake.params.data, snakemake.input,
                                                            snakemake.params.data_seed)
if mixture is not None:
    metrics = lambda x, y: guidance_study.mixture_metrics(mixture, x, y)
else:
    reference = guidance_study.FeatureReference(
        guidance_study.feature_network(x_real.numpy(), labels_real.numpy(), seed=snakemake.params.seed),
        quality.reference_classifier(x_real, labels_real), x_real.numpy(), labels_real.numpy())
    metrics = lambda x, y: guidance_study.feature_metrics(reference, x, y, k=snakemake.params.study['neighbours'])
rows = []
for name, info in methods.items():
    x = io.load_npz(snakemake.input.samples, keys=[f'x/{name}'])[f'x/{name}']
    row = guidance_study.replicate_metrics(metrics, x, labels, snakemake.params.study['folds'])
    rows.append(dict(model=snakemake.wildcards.name, set=snakemake.wildcards.set, method=name, samples=len(x),
                     **info, **row))
    log.info(f"{name}: " + ', '.join(f'{k} {row[k]:.4g} [{row[k + "_lo"]:.4g}, {row[k + "_hi"]:.4g}]'
                                       for k in row if not k.endswith(('_lo', '_hi'))))
io.write_csv(pd.DataFrame(rows), snakemake.output[0])
