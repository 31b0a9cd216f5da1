"""Rule model_quality: how good the generated samples of every run are, by the backend's reference classifier
(digits: an SVC trained on the real digits, with the share of near-copies of training images; a mixture: its
exact Bayes classifier, the component with the highest posterior at sigma = 0)."""

import pandas as pd

from entropic import backends
from entropic.files import job_log, store
from entropic.method.runs import Run

log = job_log.start(snakemake.log[0])
spec = snakemake.params.data
backend = backends.get(spec['backend'])
data = backend.training_data(spec, snakemake.input, snakemake.params.data_seed)
measure = backend.sample_quality(data, snakemake.params.seed)

rows = []
for (name, entry), path in zip(snakemake.params.runs.items(), snakemake.input.samples):
    generated = store.load_npz(path, keys=['x', 'labels'])
    conditional = generated['labels'] >= 0
    x, labels = generated['x'][conditional], generated['labels'][conditional]
    run = Run.from_config(name, entry)
    row = dict(model=snakemake.wildcards.model, run=name, guidance=run.scale, interval=run.describe(), samples=len(x),
               **measure(x, labels))
    log.info(f"{name}: accuracy {row['accuracy']:.4f} on {len(x)} conditional samples, near-copies {row['near_copies']:.4f}")
    rows.append(row)
store.write_csv(pd.DataFrame(rows), snakemake.output[0])
