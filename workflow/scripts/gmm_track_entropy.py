"""Rule gmm_track_entropy: the paper's estimator (posterior tracking along sampler trajectories) on one
mixture, every tracker variant in turn (each with its own seed, as if alone; mixture_estimators.track_variant)."""

from entropic.theory import mixtures
from entropic.studies import mixture_estimators
from entropic.files import curve_table, job_log, store

log = job_log.start(snakemake.log[0])
info = store.read_json(snakemake.input.mixture)
partitions = store.read_json(snakemake.input.partitions)
mixture = mixtures.load_mixture(snakemake.input.means, info)
sigma_max = max(80.0, info['sigma_S'] * 10 ** snakemake.params.decades_above)

for (name, variant), curve_path, samples_path in zip(snakemake.params.variants.items(), snakemake.output.curves,
                                                     snakemake.output.samples):
    curves, readout, levels = mixture_estimators.track_variant(
        mixture, partitions, name, variant, snakemake.params.trajectories, snakemake.params.seeds[name], sigma_max,
        where=f"gmm/{info['name']} ({snakemake.input.means})", log=log)
    curve_table.write_curves(curves, name, readout, levels, curve_path, samples_path)
