# Checked against peers: the clone agreement Biroli et al. (2024) published for two-class mixtures against our
# exact collision probability (entropic.studies.peers), and their cloning experiment on our trained networks
# (entropic.studies.cloning) against the tracker's readout of the same quantity.


rule fig_gmm_clone_agreement:
    """Our exact phi(t) of two-class mixtures against Biroli et al.'s clone agreement at every point they stored."""
    input:
        means=gmm_files(GMM["figures"]["clone_agreement"], "results/gmm/{experiment}/means.npy"),
        mixtures=gmm_files(GMM["figures"]["clone_agreement"], "results/gmm/{experiment}/mixture.json"),
        curves=gmm_files(GMM["figures"]["clone_agreement"], "results/gmm/{experiment}/entropy/exact.csv"),
        windows=gmm_files(GMM["figures"]["clone_agreement"], "results/gmm/{experiment}/windows/exact.csv"),
    output:
        pdf="results/figures/gmm_clone_agreement.pdf",
        png=report(
            "results/figures/gmm_clone_agreement.png",
            caption="../report/gmm_clone_agreement.rst",
            category="Checked against peers",
        ),
        csv="results/tables/gmm_clone_agreement.csv",
        md="results/tables/gmm_clone_agreement.md",
    params:
        experiments=GMM["figures"]["clone_agreement"],
        exact=GMM["exact"],
        seed=derive_seed(GMM["seed"], "clone_agreement"),
    log:
        "results/logs/fig_gmm_clone_agreement.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_gmm_clone_agreement.py"


rule model_clone_agreement:
    """Biroli et al.'s cloning on a trained network: unconditional trajectories branched into pairs, both ends classified."""
    input:
        unpack(model_data_files),
        unpack(lambda wc: network_files(wc.model, "unguided")),
    output:
        "results/models/{model}/clone_agreement.csv",
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
        "results/logs/model_clone_agreement/{model}.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/model_clone_agreement.py"


rule fig_model_clone_agreement:
    """The clone agreement of a trained network against the tracker's phi = E sum_c p(c | x)^2 at the same levels."""
    input:
        clones="results/models/{model}/clone_agreement.csv",
        curve="results/models/{model}/entropy/unguided.csv",
        reference=lambda wc: f"results/models/{wc.model}/entropy/{model_reference(wc.model)}.csv",
        partitions="results/models/{model}/partitions.json",
    output:
        pdf="results/figures/{model}_clone_agreement.pdf",
        png=report(
            "results/figures/{model}_clone_agreement.png",
            caption="../report/model_clone_agreement.rst",
            category="Checked against peers",
            subcategory="{model}",
        ),
        csv="results/tables/{model}_clone_agreement.csv",
        md="results/tables/{model}_clone_agreement.md",
    log:
        "results/logs/fig_model_clone_agreement/{model}.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_model_clone_agreement.py"
