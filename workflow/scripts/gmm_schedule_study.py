"""Rule gmm_schedule_study: every grid's exact metrics on each mixture, per budget, solver and seed (tidy rows)."""

import pandas as pd
import torch

from entropic import gmm, io, schedule_study

torch.set_num_threads(1)
log = io.job_logger(snakemake.log[0])
for name, means, info, path in zip(snakemake.params.experiments, snakemake.input.means, snakemake.input.mixtures,
                                   snakemake.output):
    mixture = gmm.load_mixture(means, io.read_json(info))
    rows = schedule_study.mixture_study(name, mixture, snakemake.params.study, snakemake.params.seeds[name],
                                        snakemake.params.mmse_seeds[name], log)
    io.write_csv(pd.DataFrame(rows, columns=schedule_study.TIDY_COLUMNS), path)
    log.info(f'{name}: {len(rows)} rows')
