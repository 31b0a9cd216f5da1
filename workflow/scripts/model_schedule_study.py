"""Rule model_schedule_study: every grid's quality on a network, per budget, solver, guidance and seed. Its
measured mmse takes x0 where the backend says (Backend.schedule_x0): the training data of a trained network, the
unconditional final samples of the source run of a pretrained one."""

import numpy as np
import pandas as pd
import torch

from entropic import backends
from entropic.files import curve_table, job_log, store
from entropic.studies import schedule_study

log = job_log.start(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
name, params = snakemake.wildcards.model, snakemake.params
backend = backends.get(params.spec['backend'])
model = backend.load(params.spec, snakemake.input, params.hypotheses, backend.device())
if backend.schedule_x0 == 'training':
    data = backend.training_data(params.data, snakemake.input, params.data_seed)
    x0, x0_labels = data.x, data.labels
else:
    data = None
    x0, x0_labels = schedule_study.own_samples(snakemake.input.samples)
    log.info(f'measured mmse on the {len(x0)} unconditional final samples of run {params.study["source"]} '
             '(the model\'s own samples as x0: a proxy for its data)')
rng = np.random.default_rng(params.mmse_seed)


def draw_data(n):
    rows = torch.as_tensor(rng.integers(0, len(x0_labels), n))
    return x0[rows].to(model.device), x0_labels[rows].to(model.device)


curve = curve_table.read_curve(snakemake.input.curve).query("partition == 'classes'")
if curve.empty:
    raise ValueError(f"{snakemake.input.curve}: no curve of the partition 'classes' to place the semantic grids")
sigma_range = (params.sampler['sigma_min'], params.sampler['sigma_max'])
measure = backend.schedule_metrics(params.spec, snakemake.input, data, params.quality_seed, log)
rows = schedule_study.network_study(name, model, draw_data, (curve['sigma'].to_numpy(), curve['H'].to_numpy()),
                                    params.study, sigma_range, params.seeds, measure, params.mmse_seed, log)
store.write_csv(pd.DataFrame(rows, columns=schedule_study.TIDY_COLUMNS), snakemake.output[0])
log.info(f'{len(rows)} rows')
