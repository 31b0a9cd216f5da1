"""Rule model_clone_agreement: Biroli et al.'s cloning experiment on a trained network (entropic.studies.cloning).

Unconditional trajectories of the model's own sampler, branched at each configured level (moved to the nearest
sampler level, where the tracker's curve is read) into pairs of continuations with independent noise; both
ends classified by the classifier model_quality uses (its backend's: the real-digit SVC; a mixture's Bayes
classifier)."""

import torch

from entropic import backends
from entropic.studies import cloning
from entropic.files import job_log, store

log = job_log.start(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
settings = snakemake.params.cloning
backend = backends.get(snakemake.params.spec['backend'])
data = backend.training_data(snakemake.params.data, snakemake.input, snakemake.params.data_seed)
classify = backend.classifier(data, snakemake.params.quality_seed)
model = backend.load(snakemake.params.spec, snakemake.input, snakemake.params.hypotheses, backend.device())
denoiser, shape, device = model.denoiser, model.shape, model.device
sigmas = model.sigmas(snakemake.params.sampler)
try:
    indices = cloning.branch_indices(sigmas, settings['levels'])
except ValueError as err:
    raise ValueError(f'config key models.{snakemake.wildcards.model}.cloning.levels: {err}') from None
log.info(f"{snakemake.wildcards.model}: {settings['pairs']} clone pairs at sigma {[f'{s:.4g}' for s in sigmas[indices]]} "
         f"(the sampler levels nearest to {settings['levels']}), {len(sigmas) - 1} sampler steps from {sigmas[0]:g}")
clones = cloning.clone_pairs(denoiser, sigmas, indices, settings['pairs'], shape, snakemake.params.seed, device=device)
first = classify(clones['first'].reshape(-1, *clones['first'].shape[2:])).reshape(clones['first'].shape[:2])
second = classify(clones['second'].reshape(-1, *clones['second'].shape[2:])).reshape(clones['second'].shape[:2])
table = cloning.agreement_rates(clones['sigma'], first, second)
for row in table.itertuples():
    log.info(f'sigma {row.sigma:.4g}: {row.agreement:.4f} +- {row.agreement_se:.4f} of {row.pairs} pairs agree')
log.info(f"{clones['calls']} denoiser evaluations")
store.write_csv(table, snakemake.output[0])
