"""Rule guidance_study_samples: class-conditional samples of every guidance method of one set (tuning: the
limited-interval grid; evaluation: the compared methods, the interval chosen on the tuning set), same seeds.
The subject's track loads what it samples (entropic.pipeline.tracks): a model its network (by its backend), a
Gaussian-mixture experiment its exact denoiser."""

import json

import numpy as np
import pandas as pd
import torch

from entropic.studies import guidance_study
from entropic.files import curve_table, job_log, store
from entropic.pipeline import tracks

log = job_log.start(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
study, settings, which = snakemake.params.study, snakemake.params.sampler, snakemake.wildcards.set
model = tracks.get(snakemake.wildcards.track).study_model(snakemake.params, snakemake.input)
denoiser, classes, shape, device, schedule = model.denoiser, model.classes, model.shape, model.device, model.schedule
sigmas = schedule.sigmas(settings)
init_std = schedule.init_std(sigmas)
if which == 'tuning':
    methods = guidance_study.tuning_methods(study['scale'], study['interval_edges'])
else:
    tuning = pd.read_csv(snakemake.input.tuning)
    best = tuning.loc[tuning[snakemake.params.select].idxmin()]
    log.info(f"interval chosen on the tuning set by {snakemake.params.select}: ({best['sigma_lo']:g}, {best['sigma_hi']:g}]")
    methods = guidance_study.evaluation_methods(study, (float(best['sigma_lo']), float(best['sigma_hi'])),
                                                pd.read_csv(snakemake.input.windows), curve_table.read_curve(snakemake.input.curve))
labels = np.tile(classes, study['samples'] // len(classes))
arrays, table = dict(labels=labels), {}
source = ', '.join(str(p) for p in snakemake.input if not str(p).endswith('.csv'))     # the network (or mixture) files
for name, guidance in methods.items():
    try:
        arrays[f'x/{name}'] = guidance_study.sample_method(denoiser, guidance, labels, shape, sigmas,
                                                           snakemake.params.seed, device=device, init_std=init_std)
    except FloatingPointError as err:   # the sampler names the noise level and hypothesis; say which study and network
        raise FloatingPointError(f'{snakemake.wildcards.track}/{snakemake.wildcards.name} guidance study, '
                                 f'{which} set, method {name} ({source}): {err}') from None
    table[name] = dict(scale=float(guidance.scale), sigma_lo=float(guidance.sigma_lo), sigma_hi=float(guidance.sigma_hi),
                       placement=guidance.describe(), spent=guidance_study.guidance_spent(guidance, sigmas))
    log.info(f"{name}: {guidance.describe()} at w = {guidance.scale:g}, {len(labels)} samples")
arrays['methods'] = np.array(json.dumps(table))
store.save_npz(snakemake.output[0], **arrays)
