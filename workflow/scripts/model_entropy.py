"""Rule model_entropy: merge a run's shards and read the tracked entropy curve of every partition.

Guided trajectories are not drawn from the model's joint, so their curves are cross-entropies (Handke et al.
2026, arXiv:2602.09651, section 2.1; entropic.method.runs)."""

from entropic.files import curve_table, job_log, store
from entropic.method import posterior
from entropic.pipeline import trajectories
from entropic.method.runs import Run

log = job_log.start(snakemake.log[0])
run = trajectories.merge_shards(snakemake.input.shards)
partitions = store.read_json(snakemake.input.partitions)
readout = Run.from_config(snakemake.wildcards.run, snakemake.params.run).readout
name = snakemake.wildcards.run
log.info(f"{name}: {len(run['labels'])} trajectories from {len(snakemake.input.shards)} shards, "
         f"{len(run['sigma'])} levels, {run['calls']} denoiser evaluations; readout: {readout}")

combined = 'distances' in run          # the model's `estimate: combined`, for unguided runs
if combined:
    log.info("readout: the tracker's, less control variates of exact mean 0 (the entropy's compensator along "
             "the same trajectories, and the posterior martingales)")
curves = {}
for part, entry in partitions.items():
    if combined:
        curve = posterior.compensated_curve(run['sigma'], run['hypotheses'], run['labels'], run['log_posterior'],
                                            run['distances'], entry['cells'], seed=snakemake.params.seed)
    else:
        curve = posterior.tracked_curve(run['sigma'], run['hypotheses'], run['labels'], run['log_posterior'],
                                        entry['cells'])
    log.info(f"{part}: H from {curve['H'][0]:.4f} to {curve['H'][-1]:.4f} nats, max SE {curve['H_se'].max():.2g}, "
             f"{curve['n'][0]} trajectories")
    curves[part] = curve

curve_table.write_curves(curves, name, readout, run['sigma'], snakemake.output.curve, snakemake.output.samples)
# The generated samples, and the snapshot trajectories (their x0 estimates and tracked posterior) for figures.
snapshots = {}
if 'denoised' in run:
    m = len(run['denoised'][0])
    snapshots = dict(denoised=run['denoised'], snapshot_labels=run['labels'][:m],
                     snapshot_log_posterior=run['log_posterior'][:, :m])
store.save_npz(snakemake.output.generated, x=run['x'], labels=run['labels'], sigma=run['sigma'],
            hypotheses=run['hypotheses'], **snapshots)
