"""Rule gmm_mixture: draw a mixture from its config entry; write means, parameters and partitions."""

from entropic.theory import mixtures, closed_forms
from entropic.files import job_log, store
from entropic.theory import partitions as P

log = job_log.start(snakemake.log[0])
name = snakemake.wildcards.experiment
mixture, partitions = mixtures.build_experiment(name, snakemake.params.spec, snakemake.params.seed)
top = mixture.covariance_top_eigenvalue()
log.info(f'{name}: K={mixture.num_components}, d={mixture.dim}, Lambda={top:.6g}, '
         f't_S={closed_forms.speciation_time(top):.4f}, sigma_S={closed_forms.speciation_sigma(top):.4g}')

partition_info = {}
for part, cells in partitions.items():
    # Lambda of the data the partition acts on (components in play): its own speciation scale.
    part_top = mixture.restrict(P.in_play(cells, mixture.num_components)).covariance_top_eigenvalue()
    partition_info[part] = dict(cells=cells, Lambda=part_top, t_S=closed_forms.speciation_time(part_top),
                                sigma_S=float(closed_forms.speciation_sigma(part_top)))
    log.info(f'  partition {part}: {len(cells)} cells, Lambda={part_top:.6g}')

store.save_npy(mixture.means, snakemake.output.means)
store.write_json(dict(
    name=name, spec=snakemake.params.spec, seed=snakemake.params.seed,
    num_components=mixture.num_components, dim=mixture.dim,
    variance=mixture.variance, weights=mixture.weights.tolist(),
    Lambda=top, t_S=closed_forms.speciation_time(top), sigma_S=float(closed_forms.speciation_sigma(top)),
), snakemake.output.mixture)
store.write_json(partition_info, snakemake.output.partitions)
