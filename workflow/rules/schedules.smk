# What a sampler's grid buys at few function evaluations (beyond the paper): EDM's grid against grids placed by
# the entropic time (Stancevic, Handke & Ambrogioni 2025, arXiv:2504.13612), its rescaled form and the class
# entropy (entropic.method.schedules), sampled by the deterministic ODE sampler. On Gaussian-mixture experiments with
# their exact denoiser, exact starts and exact metrics (results/gmm/<experiment>/schedules.csv), and on a trained
# network with its measured mmse and the metrics its backend gives (results/models/<model>/schedules.csv).


rule gmm_schedule_study:
    """Every grid's exact metrics at every budget of evaluations, solver and seed, on one mixture (tidy rows)."""
    input:
        **paths.mixture("{experiment}"),
    output:
        paths.schedules(paths.GMM, "{experiment}"),
    wildcard_constraints:
        experiment=_one_of(SCHEDULE_EXPERIMENTS),
    params:
        study=recorded({key: value for key, value in GMM.get("schedule_study", {}).items() if key != "experiments"}),
        seeds=lambda wc: [gmm_seed(wc.experiment, "schedule_study", i)
                          for i in range(GMM["schedule_study"]["seeds"])],
        mmse_seed=lambda wc: gmm_seed(wc.experiment, "schedule_study", "mmse"),
    log:
        paths.log("gmm_schedule_study", "{experiment}"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/gmm_schedule_study.py"


rule model_schedule_study:
    """Every grid's quality at every budget of evaluations, solver, guidance scale and seed, on a trained network."""
    input:
        unpack(model_schedule_inputs),
    output:
        paths.schedules(paths.MODELS, "{model}"),
    params:
        study=lambda wc: MODELS[wc.model]["schedule_study"],
        sampler=lambda wc: MODELS[wc.model]["sampler"],
        spec=lambda wc: model_loading(wc.model),
        hypotheses=lambda wc: HYPOTHESES[wc.model],
        data=lambda wc: model_data(wc.model),
        data_seed=lambda wc: model_seed(wc.model, "data"),
        quality_seed=lambda wc: model_seed(wc.model, "quality"),   # the classifier model_quality fits
        seeds=lambda wc: [model_seed(wc.model, "schedule_study", i) for i in range(MODELS[wc.model]["schedule_study"]["seeds"])],
        mmse_seed=lambda wc: model_seed(wc.model, "schedule_study", "mmse"),
    log:
        paths.log("model_schedule_study", "{model}"),
    threads: 1
    resources:
        gpu=lambda wc: gpu(wc.model),
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/model_schedule_study.py"


rule fig_model_schedules:
    """A network's schedule study: quality against evaluations, one line per schedule, and who wins where."""
    input:
        studies=[paths.schedules(paths.MODELS, "{model}")],
    output:
        pdf=paths.figure("{model}_schedules", "pdf"),
        png=report(
            paths.figure("{model}_schedules", "png"),
            caption="../report/model_schedules.rst",
            category="Beyond the paper",
            subcategory="{model}",
        ),
        csv=paths.table("{model}_schedules", "csv"),
        md=paths.table("{model}_schedules", "md"),
    params:
        title=lambda wc: f"Model {wc.model}",
    log:
        paths.log("fig_model_schedules", "{model}"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_schedules.py"


register(
    rules.fig_model_schedules,
    when=[model for model, spec in MODELS.items() if "schedule_study" in spec],
    what="beyond the paper: the schedule study of `gmm_schedules` on a network (the default run: digits, NFE 5 to 15, Heun "
    "and Euler), its "
    "grids placed by the network's measured mmse and its unguided run's class entropy: FD to the training set and "
    "classifier accuracy of class-conditional samples (unguided and w = 2), FD and the class histogram against "
    "uniform of unconditional ones; with `config/edm2-xs.yaml`, EDM2-XS at NFE 5 to 63 (Heun) by FID and FD-DINOv2, "
    "its mmse measured on its own samples ([below](#beyond-the-paper-sampler-schedules-placed-by-entropy))",
)


rule fig_gmm_schedules:
    """Quality against evaluations, one line per schedule, and which schedule wins where, with intervals."""
    input:
        studies=[paths.schedules(paths.GMM, e) for e in SCHEDULE_EXPERIMENTS],
    output:
        pdf=paths.figure("gmm_schedules", "pdf"),
        png=report(
            paths.figure("gmm_schedules", "png"),
            caption="../report/gmm_schedules.rst",
            category="Beyond the paper",
            subcategory="gmm",
        ),
        csv=paths.table("gmm_schedules", "csv"),
        md=paths.table("gmm_schedules", "md"),
    params:
        title="Gaussian mixtures, exact denoiser",
    log:
        paths.log("fig_gmm_schedules"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_schedules.py"


register(
    rules.fig_gmm_schedules,
    when="schedule_study" in GMM,
    what="beyond the paper: sample quality against denoiser evaluations (NFE 3 to 63, Heun and Euler) on four "
    "mixtures with their exact denoiser, one line per grid (EDM's, the entropic time, its rescaled form, the semantic "
    "time at λ = 0.5 and 1) with 95% intervals over seeds; the table names the best grid per budget and metric with "
    "its gain over EDM's, paired by seed ([below](#beyond-the-paper-sampler-schedules-placed-by-entropy))",
)
