# What window-placed guidance buys (beyond the paper): guidance methods compared on quality and diversity,
# for trained and pretrained models (results/models/<model>/guidance_study/; pretrained ones by FID and
# FD-DINOv2) and, with the exact denoiser and exact metrics, for a Gaussian-mixture experiment
# (results/gmm/<experiment>/guidance_study/). The limited interval of the
# baseline is chosen on the tuning set (its own seeds) and reported on the evaluation set with the others.


rule guidance_study_samples:
    """Class-conditional samples of every method of one set, with the same seeds for every method."""
    input:
        unpack(study_inputs),
    output:
        paths.study("{track}", "{name}", "{set}", "npz"),
    wildcard_constraints:
        track="gmm|models",
        set="tuning|evaluation",
    params:
        study=lambda wc: study_config(wc.track, wc.name),
        sampler=lambda wc: MODELS[wc.name]["sampler"] if wc.track == "models" else STUDY_SAMPLER,
        # a model's backend loads it (the gmm track samples its mixture's exact denoiser)
        spec=lambda wc: model_loading(wc.name) if wc.track == "models" else None,
        hypotheses=lambda wc: HYPOTHESES[wc.name] if wc.track == "models" else None,
        select=lambda wc: study_selection(wc),
        seed=lambda wc: study_seed(wc, wc.set),
    log:
        paths.log("guidance_study_samples", "{track}", "{name}", "{set}"),
    threads: 1
    priority: 5    # a chain of four jobs (tuning, then evaluation) that ends the run if started late
    resources:
        gpu=lambda wc: gpu(wc.name) if wc.track == "models" else 0,
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/guidance_study_samples.py"


rule guidance_study_metrics:
    """Quality and diversity of every method's samples, with confidence intervals over disjoint folds."""
    input:
        unpack(study_data),
        samples=paths.study("{track}", "{name}", "{set}", "npz"),
    output:
        paths.study("{track}", "{name}", "{set}", "csv"),
    wildcard_constraints:
        track="gmm|models",
        set="tuning|evaluation",
    params:
        study=lambda wc: study_config(wc.track, wc.name),
        # a model's backend measures its samples (the gmm track by its mixture's exact metrics)
        spec=lambda wc: recorded({**model_loading(wc.name), "guidance_study": MODELS[wc.name]["guidance_study"]})
        if wc.track == "models" else None,
        data=lambda wc: model_data(wc.name) if wc.track == "models" else None,
        data_seed=lambda wc: model_seed(wc.name, "data") if wc.track == "models" else None,
        seed=lambda wc: study_seed(wc, "metrics", wc.set),
    log:
        paths.log("guidance_study_metrics", "{track}", "{name}", "{set}"),
    threads: 1
    priority: 5    # a chain of four jobs (tuning, then evaluation) that ends the run if started late
    resources:
        gpu=lambda wc: gpu(wc.name) if wc.track == "models" else 0,
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/guidance_study_metrics.py"


rule fig_guidance_study:
    """A trained model's guidance study: quality against diversity per method, where each guides, the verdicts."""
    input:
        unpack(lambda wc: study_results("models", wc.model)),
    output:
        pdf=paths.figure("{model}_guidance_study", "pdf"),
        png=report(
            paths.figure("{model}_guidance_study", "png"),
            caption="../report/guidance_study.rst",
            category="Beyond the paper", subcategory="{model}",
        ),
        csv=paths.table("{model}_guidance_study", "csv"),
        md=paths.table("{model}_guidance_study", "md"),
    params:
        study=lambda wc: MODELS[wc.model]["guidance_study"],
        select=lambda wc: study_selection(wc, "models", wc.model),
        name=lambda wc: wc.model,
    log:
        paths.log("fig_guidance_study", "{model}"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_guidance_study.py"


register(
    rules.fig_guidance_study,
    when=[model for model, spec in MODELS.items() if "guidance_study" in spec],
    what="beyond the paper: guidance placed by the entropy window against CFG everywhere and the tuned limited "
    "interval, with CIs and verdicts; for digits FD, precision, recall, spread in a real-digit classifier's features "
    "(FID and FD-DINOv2 for a pretrained model)",
)


rule fig_gmm_guidance_study:
    """The guidance study on a Gaussian mixture with its exact denoiser and exact metrics."""
    input:
        unpack(lambda wc: study_results("gmm", GMM["guidance_study"]["experiment"])),
    output:
        pdf=paths.figure("gmm_guidance_study", "pdf"),
        png=report(
            paths.figure("gmm_guidance_study", "png"),
            caption="../report/guidance_study.rst",
            category="Beyond the paper", subcategory="gmm",
        ),
        csv=paths.table("gmm_guidance_study", "csv"),
        md=paths.table("gmm_guidance_study", "md"),
    params:
        study=lambda wc: GMM["guidance_study"],
        select="kl",
        name=lambda wc: f"mixture {GMM['guidance_study']['experiment']} (exact denoiser)",
    log:
        paths.log("fig_gmm_guidance_study"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_guidance_study.py"


register(
    rules.fig_gmm_guidance_study,
    when="guidance_study" in GMM,
    what="the same comparison on the mixture k10-d9 with its exact denoiser: exact class accuracy and KL to the true "
    "components",
)
