"""Rule gmm_schedule_study: every grid's exact metrics on one mixture, per budget, solver and seed (tidy rows)."""

import pandas as pd
import torch

from entropic.theory import mixtures
from entropic.files import job_log, store
from entropic.studies import schedule_study

torch.set_num_threads(1)
log = job_log.start(snakemake.log[0])
name = snakemake.wildcards.experiment
mixture = mixtures.load_mixture(snakemake.input.means, store.read_json(snakemake.input.mixture))
rows = schedule_study.mixture_study(name, mixture, snakemake.params.study, snakemake.params.seeds,
                                    snakemake.params.mmse_seed, log)
store.write_csv(pd.DataFrame(rows, columns=schedule_study.TIDY_COLUMNS), snakemake.output[0])
log.info(f'{name}: {len(rows)} rows')
