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
        track="|".join(TRACK),
        set="tuning|evaluation",
    params:
        study=lambda wc: TRACK[wc.track].study(wc.name),
        sampler=lambda wc: TRACK[wc.track].study_sampler(wc.name),
        # a model's backend loads it (None for the gmm track, which samples its mixture's exact denoiser)
        spec=lambda wc: TRACK[wc.track].study_loading(wc.name),
        hypotheses=lambda wc: TRACK[wc.track].study_hypotheses(wc.name),
        select=lambda wc: TRACK[wc.track].study_selection(wc.name),
        seed=lambda wc: TRACK[wc.track].study_seed(wc.name, wc.set),
    log:
        paths.log("guidance_study_samples", "{track}", "{name}", "{set}"),
    threads: 1
    priority: 5    # a chain of four jobs (tuning, then evaluation) that ends the run if started late
    resources:
        gpu=lambda wc: TRACK[wc.track].gpu(wc.name),
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/guidance_study_samples.py"


rule guidance_study_metrics:
    """Quality and diversity of every method's samples, with confidence intervals over disjoint folds."""
    input:
        unpack(study_metric_inputs),
        samples=paths.study("{track}", "{name}", "{set}", "npz"),
    output:
        paths.study("{track}", "{name}", "{set}", "csv"),
    wildcard_constraints:
        track="|".join(TRACK),
        set="tuning|evaluation",
    params:
        study=lambda wc: TRACK[wc.track].study(wc.name),
        # a model's backend measures its samples (None for the gmm track: its mixture's exact metrics)
        spec=lambda wc: TRACK[wc.track].study_measuring(wc.name),
        data=lambda wc: TRACK[wc.track].study_data(wc.name),
        data_seed=lambda wc: TRACK[wc.track].study_data_seed(wc.name),
        seed=lambda wc: TRACK[wc.track].study_seed(wc.name, "metrics", wc.set),
    log:
        paths.log("guidance_study_metrics", "{track}", "{name}", "{set}"),
    threads: 1
    priority: 5    # a chain of four jobs (tuning, then evaluation) that ends the run if started late
    resources:
        gpu=lambda wc: TRACK[wc.track].gpu(wc.name),
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/guidance_study_metrics.py"


rule fig_guidance_study:
    """A trained model's guidance study: quality against diversity per method, where each guides, the verdicts."""
    input:
        unpack(lambda wc: study_results(paths.MODELS, wc.model)),
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
        study=lambda wc: NETWORKS.study(wc.model),
        select=lambda wc: NETWORKS.study_selection(wc.model),
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
        unpack(lambda wc: study_results(paths.GMM, GMM["guidance_study"]["experiment"])),
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
        study=lambda wc: MIXTURES.study(GMM["guidance_study"]["experiment"]),
        select=lambda wc: MIXTURES.study_selection(GMM["guidance_study"]["experiment"]),
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
