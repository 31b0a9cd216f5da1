# Gaussian-mixture theory track (Handke et al. 2026, arXiv:2602.09651, §4, App. A): the mixtures and their exact entropy curves.


rule gmm_mixture:
    """Draw an experiment's mixture; write its exact means, variance, weights and partitions."""
    output:
        **paths.mixture("{experiment}"),
        partitions=paths.partitions(paths.GMM, "{experiment}"),
    params:
        spec=lambda wc: GMM["experiments"][wc.experiment],
        seed=lambda wc: gmm_seed(wc.experiment),
    log:
        paths.log("gmm_mixture", "{experiment}"),
    threads: 1
    priority: 10   # cheap, and a model trained on the mixture waits for it
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/gmm_mixture.py"


rule gmm_exact_entropy:
    """Exact H[f(Z) | X_sigma] and its rate for every partition, by randomised quasi-Monte Carlo."""
    input:
        **paths.mixture("{experiment}"),
        partitions=paths.partitions(paths.GMM, "{experiment}"),
    output:
        curve=paths.curve(paths.GMM, "{experiment}", "exact"),
        samples=paths.curve(paths.GMM, "{experiment}", "exact", "npz"),
    params:
        grid=GMM["grid"],
        exact=GMM["exact"],
        seed=lambda wc: gmm_seed(wc.experiment),
    log:
        paths.log("gmm_exact_entropy", "{experiment}"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/gmm_exact_entropy.py"


rule gmm_track_entropy:
    """The paper's estimator: posterior tracking along stochastic sampler trajectories (every tracker variant)."""
    input:
        **paths.mixture("{experiment}"),
        partitions=paths.partitions(paths.GMM, "{experiment}"),
    output:
        curves=[paths.curve(paths.GMM, "{experiment}", tracker) for tracker in GMM["track"]["variants"]],
        samples=[paths.curve(paths.GMM, "{experiment}", tracker, "npz") for tracker in GMM["track"]["variants"]],
    params:
        variants=GMM["track"]["variants"],
        trajectories=GMM["track"]["trajectories"],
        decades_above=recorded(GMM["grid"]["decades_above"]),
        # each variant's own seed, as if it ran alone
        seeds=lambda wc: recorded({tracker: gmm_seed(wc.experiment, tracker)
                                   for tracker in GMM["track"]["variants"]}),
    log:
        paths.log("gmm_track_entropy", "{experiment}"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/gmm_track_entropy.py"


rule gmm_immse_entropy:
    """I-MMSE: H[Z | X_sigma] = H[Z] - integral of E|D(x; s, z) - D(x; s)|^2 s^-3 ds on forward-noised samples."""
    input:
        **paths.mixture("{experiment}"),
    output:
        curve=paths.curve(paths.GMM, "{experiment}", "immse"),
        samples=paths.curve(paths.GMM, "{experiment}", "immse", "npz"),
    params:
        grid=GMM["grid"],
        immse=GMM["immse"],
        seed=lambda wc: gmm_seed(wc.experiment, "immse"),
    log:
        paths.log("gmm_immse_entropy", "{experiment}"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/gmm_immse_entropy.py"


rule gmm_tracker_bias:
    """Measure the tracker's bias against the exact entropy for several step counts and kernel choices."""
    input:
        unpack(lambda wc: paths.mixture(GMM["tracker_bias"]["experiment"])),
    output:
        paths.table("gmm_tracker_bias", "csv"),
    params:
        study=GMM["tracker_bias"],
        exact=GMM["exact"],
        seed=derive_seed(GMM["seed"], "tracker_bias"),
    log:
        paths.log("gmm_tracker_bias"),
    threads: 1
    priority: 5    # the longest job of the gmm track: started early, it does not run alone at the end
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/gmm_tracker_bias.py"


register(
    rules.gmm_tracker_bias,
    when=bool(GMM["tracker_bias"]["experiment"]),
    what="the tracker's bias per number of steps and kernel choice: the numbers behind the figure `gmm_tracker_bias`",
)
