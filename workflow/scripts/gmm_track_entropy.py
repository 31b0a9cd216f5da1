"""Rule gmm_track_entropy: the paper's estimator (posterior tracking along sampler trajectories) on one
mixture, every tracker variant in turn (each with its own seed, as if alone; gmm_estimators.track_variant)."""

from entropic import gmm, gmm_estimators, io

log = io.job_logger(snakemake.log[0])
info = io.read_json(snakemake.input.mixture)
partitions = io.read_json(snakemake.input.partitions)
mixture = gmm.load_mixture(snakemake.input.means, info)
sigma_max = max(80.0, info['sigma_S'] * 10 ** snakemake.params.decades_above)

for (name, variant), curve_path, samples_path in zip(snakemake.params.variants.items(), snakemake.output.curves,
                                                     snakemake.output.samples):
    curves, readout, levels = gmm_estimators.track_variant(
        mixture, partitions, name, variant, snakemake.params.trajectories, snakemake.params.seeds[name], sigma_max,
        where=f"gmm/{info['name']} ({snakemake.input.means})", log=log)
    io.write_curves(curves, name, readout, levels, curve_path, samples_path)
