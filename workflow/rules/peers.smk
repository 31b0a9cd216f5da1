# Checked against peers: the clone agreement Biroli et al. (2024) published for two-class mixtures against our
# exact collision probability (entropic.studies.peers), and their cloning experiment on our trained networks
# (entropic.studies.cloning) against the tracker's readout of the same quantity.


rule fig_gmm_clone_agreement:
    """Our exact phi(t) of two-class mixtures against Biroli et al.'s clone agreement at every point they stored."""
    input:
        means=[paths.mixture(e)["means"] for e in GMM["figures"]["clone_agreement"]],
        mixtures=[paths.mixture(e)["mixture"] for e in GMM["figures"]["clone_agreement"]],
        curves=[paths.curve(paths.GMM, e, "exact") for e in GMM["figures"]["clone_agreement"]],
        windows=[paths.windows(paths.GMM, e, "exact") for e in GMM["figures"]["clone_agreement"]],
    output:
        pdf=paths.figure("gmm_clone_agreement", "pdf"),
        png=report(
            paths.figure("gmm_clone_agreement", "png"),
            caption="../report/gmm_clone_agreement.rst",
            category="Checked against peers",
        ),
        csv=paths.table("gmm_clone_agreement", "csv"),
        md=paths.table("gmm_clone_agreement", "md"),
    params:
        experiments=GMM["figures"]["clone_agreement"],
        exact=GMM["exact"],
        seed=derive_seed(GMM["seed"], "clone_agreement"),
    log:
        paths.log("fig_gmm_clone_agreement"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_gmm_clone_agreement.py"


register(
    rules.fig_gmm_clone_agreement,
    when=bool(GMM["figures"]["clone_agreement"]),
    what="checked against a peer: our exact φ(t) of k2-d256 and k2-d1024 against every clone-agreement point Biroli "
    "et al. published, with the tolerance of each",
)


rule model_clone_agreement:
    """Biroli et al.'s cloning on a trained network: unconditional trajectories branched into pairs, both ends classified."""
    input:
        unpack(model_data_files),
        unpack(lambda wc: network_files(wc.model, "unguided")),
    output:
        paths.clone_agreement("{model}"),
    params:
        cloning=lambda wc: MODELS[wc.model]["cloning"],
        sampler=lambda wc: MODELS[wc.model]["sampler"],
        spec=lambda wc: model_loading(wc.model),
        hypotheses=lambda wc: HYPOTHESES[wc.model],
        data=lambda wc: model_data(wc.model),
        data_seed=lambda wc: model_seed(wc.model, "data"),
        quality_seed=lambda wc: model_seed(wc.model, "quality"),   # the classifier model_quality fits
        seed=lambda wc: model_seed(wc.model, "cloning"),
    log:
        paths.log("model_clone_agreement", "{model}"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/model_clone_agreement.py"


rule fig_model_clone_agreement:
    """The clone agreement of a trained network against the tracker's phi = E sum_c p(c | x)^2 at the same levels."""
    input:
        clones=paths.clone_agreement("{model}"),
        curve=paths.curve(paths.MODELS, "{model}", "unguided"),
        reference=lambda wc: paths.curve(paths.MODELS, wc.model, model_reference(wc.model)),
        partitions=paths.partitions(paths.MODELS, "{model}"),
    output:
        pdf=paths.figure("{model}_clone_agreement", "pdf"),
        png=report(
            paths.figure("{model}_clone_agreement", "png"),
            caption="../report/model_clone_agreement.rst",
            category="Checked against peers",
            subcategory="{model}",
        ),
        csv=paths.table("{model}_clone_agreement", "csv"),
        md=paths.table("{model}_clone_agreement", "md"),
    log:
        paths.log("fig_model_clone_agreement", "{model}"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_model_clone_agreement.py"


register(
    rules.fig_model_clone_agreement,
    when=[model for model, spec in MODELS.items() if "cloning" in spec],
    what="their cloning on a trained network (digits: unconditional pairs branched at five noise levels, ends "
    "classified) against the tracker's E Σ p² at the same levels, with SEs",
)
