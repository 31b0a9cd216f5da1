"""Rule model_quality: how good the generated samples of every run are.

digits: accuracy of a classifier trained on the real digits (an SVC) on the generated ones, per run, and
the share of near-copies of training images (memorisation). gmm: accuracy of the exact Bayes classifier
of the mixture (the component with the highest posterior at sigma = 0)."""

import numpy as np
import pandas as pd

from entropic import io, placement, quality, trained

log = io.job_logger(snakemake.log[0])
spec = snakemake.params.data
x_train, labels_train, _, mixture = trained.training_data(spec, snakemake.input, snakemake.params.data_seed)
classify = quality.sample_classifier(spec['backend'], x_train.numpy(), labels_train.numpy(), mixture,
                                     snakemake.params.seed)

rows = []
for name, path in zip(snakemake.params.runs, snakemake.input.samples):
    generated = io.load_npz(path, keys=['x', 'labels'])
    conditional = generated['labels'] >= 0
    x, labels = generated['x'][conditional], generated['labels'][conditional]
    run = snakemake.params.runs[name]
    row = dict(model=snakemake.wildcards.model, run=name, guidance=run.get('guidance', 1.0),
               interval=placement.describe_run(run), samples=len(x))
    row['accuracy'] = float(np.mean(classify(x) == labels))
    row['near_copies'] = quality.nearest_copies(x, x_train.numpy()) if spec['backend'] == 'digits' else np.nan
    log.info(f"{name}: accuracy {row['accuracy']:.4f} on {len(x)} conditional samples, near-copies {row['near_copies']:.4f}")
    rows.append(row)
io.write_csv(pd.DataFrame(rows), snakemake.output[0])
