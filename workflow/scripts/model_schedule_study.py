"""Rule model_schedule_study: every grid's quality on a trained network, per budget, solver, guidance and seed."""

import numpy as np
import pandas as pd
import torch

from entropic import backends, io, schedule_study

log = io.job_logger(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
name, params = snakemake.wildcards.model, snakemake.params
backend = backends.get(params.spec['backend'])
model = backend.load(params.spec, snakemake.input, params.hypotheses, backend.device())
data = backend.training_data(params.data, snakemake.input, params.data_seed)
rng = np.random.default_rng(params.mmse_seed)


def draw_data(n):
    rows = torch.as_tensor(rng.integers(0, len(data.labels), n))
    return data.x[rows].to(model.device), data.labels[rows].to(model.device)


curve = io.read_curve(snakemake.input.curve).query("partition == 'classes'")
if curve.empty:
    raise ValueError(f"{snakemake.input.curve}: no curve of the partition 'classes' to place the semantic grids")
sigma_range = (params.sampler['sigma_min'], params.sampler['sigma_max'])
rows = schedule_study.network_study(name, model, draw_data, (curve['sigma'].to_numpy(), curve['H'].to_numpy()),
                                    params.study, sigma_range, params.seeds,
                                    backend.schedule_metrics(data, params.quality_seed), params.mmse_seed, log)
io.write_csv(pd.DataFrame(rows, columns=schedule_study.TIDY_COLUMNS), snakemake.output[0])
log.info(f'{len(rows)} rows')
