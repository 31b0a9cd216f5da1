"""Rule gmm_track_entropy: the paper's estimator (posterior tracking along sampler trajectories) on one
mixture, every tracker variant in turn (each with its own seed, as if alone). Every partition of the components
is read from one set of trajectories that tracks all components; a partition against the unconditional
reference gets its own run."""

from entropic import gmm, gmm_estimators, io, posterior, sampler
from entropic import partitions as P

log = io.job_logger(snakemake.log[0])
info = io.read_json(snakemake.input.mixture)
partitions = io.read_json(snakemake.input.partitions)
mixture = gmm.load_mixture(snakemake.input.means, info)
sigma_max = max(80.0, info['sigma_S'] * 10 ** snakemake.params.decades_above)


def track_variant(name, variant, seed):
    """{partition: curve} of one tracker variant, its readout, and the noise levels of its trajectories."""
    sigmas = gmm_estimators.sampler_sigmas(variant, sigma_max)
    guidance = sampler.Guidance.from_config(variant)
    readout = 'entropy' if guidance.scale == 1 else 'cross-entropy'
    log.info(f'{name}: {len(sigmas) - 1} steps from sigma {sigmas[0]:.4g}, {snakemake.params.trajectories} '
             f'trajectories, {variant}; readout: {readout}')

    def track(reference_class=None):
        try:
            return gmm_estimators.track_mixture(
                mixture, sigmas, snakemake.params.trajectories, seed, reference_class=reference_class,
                start=variant['start'], progress=True, guidance=guidance, kernel=variant['kernel'],
                sampler_variance=variant['sampler_variance'], keep_distances=variant['estimate'] == 'combined')
        except FloatingPointError as err:   # the sampler names the noise level and hypothesis; say which run
            against = 'every component' if reference_class is None else f'class {reference_class} against the reference'
            raise FloatingPointError(f"gmm/{info['name']} tracker {name}, {against} ({snakemake.input.means}): {err}") from None

    all_components = track()
    curves = {}
    for part, entry in partitions.items():
        cells = entry['cells']
        if P.has_reference(cells) and 'exact' in (variant['kernel'], variant['sampler_variance']):
            log.info(f'{name} {part}: skipped; the exact kernel variance is not defined for the unconditional '
                     'reference (its posterior is a mixture, not a Gaussian)')
            continue
        levels, hypotheses, labels, log_post, distances = (track(reference_class=cells[0][0]) if P.has_reference(cells)
                                                          else all_components)
        if variant['estimate'] == 'combined':
            curve = posterior.compensated_curve(levels, hypotheses, labels, log_post, distances, cells,
                                                gmm_estimators.kernel_variances(mixture, levels, variant['kernel']),
                                                seed=seed)
        else:
            curve = posterior.tracked_curve(levels, hypotheses, labels, log_post, cells)
        log.info(f"{name} {part}: H from {curve['H'][0]:.4f} to {curve['H'][-1]:.4f} nats, max SE "
                 f"{curve['H_se'].max():.2g}, {curve['n'][0]} trajectories")
        curves[part] = curve
    return curves, readout, all_components[0]


for (name, variant), curve_path, samples_path in zip(snakemake.params.variants.items(), snakemake.output.curves,
                                                     snakemake.output.samples):
    curves, readout, levels = track_variant(name, variant, snakemake.params.seeds[name])
    io.write_curves(curves, name, readout, levels, curve_path, samples_path)
