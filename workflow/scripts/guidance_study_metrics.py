"""Rule guidance_study_metrics: quality and diversity of every method's samples, with CIs over disjoint folds,
measured as the subject's track measures samples (entropic.pipeline.tracks): a model as its backend does
(entropic.backends: digits in a real-digit classifier's features; a network trained on a mixture by exact class
accuracy and KL; a pretrained latent model by FID and FD-DINOv2 of its decoded images against reference
statistics), a Gaussian-mixture experiment by the exact class accuracy and KL of its mixture."""

import hashlib
import json

import pandas as pd
import torch

from entropic.files import job_log, store
from entropic.pipeline import tracks

log = job_log.start(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
data = store.load_npz(snakemake.input.samples, keys=['labels', 'methods'])    # every array of the file, read once
methods, labels = json.loads(str(data['methods'])), data['labels']
study = snakemake.params.study
# The tuning set's interval search reads only the metric it minimises (Track.study_selection): the tuning table
# has that metric alone, and a metric network no other metric needs is not run (FID's Inception).
tuning = snakemake.wildcards.set == 'tuning'
measure = tracks.get(snakemake.wildcards.track).study_measure(snakemake.params, snakemake.input, tuning, log)

rows = []
measured = {}   # samples equal to an earlier method's (an interval search that chose no guidance) are measured once
for name, info in methods.items():
    if f'x/{name}' not in data:
        raise ValueError(f'{snakemake.input.samples}: missing arrays [{f"x/{name}"!r}]')
    x = data[f'x/{name}']
    key = (x.shape, x.dtype.str, hashlib.sha256(x.tobytes()).hexdigest())
    if key not in measured:
        measured[key] = measure(x, labels, study['folds'])
    row = measured[key]
    rows.append(dict(model=snakemake.wildcards.name, set=snakemake.wildcards.set, method=name, samples=len(labels),
                     **info, **row))
    log.info(f"{name}: " + ', '.join(f'{k} {row[k]:.4g} [{row[k + "_lo"]:.4g}, {row[k + "_hi"]:.4g}]'
                                       for k in row if not k.endswith(('_lo', '_hi'))))
store.write_csv(pd.DataFrame(rows), snakemake.output[0])
