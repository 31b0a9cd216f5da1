# What a sampler's grid buys at few function evaluations (beyond the paper): EDM's grid against grids placed by
# the entropic time (Stancevic, Handke & Ambrogioni 2025, arXiv:2504.13612), its rescaled form and the class
# entropy (entropic.method.schedules), sampled by the deterministic ODE sampler. On Gaussian-mixture experiments with
# their exact denoiser, exact starts and exact metrics (results/gmm/<experiment>/schedules.csv), and on a trained
# network with its measured mmse and the metrics its backend gives (results/models/<model>/schedules.csv).


rule gmm_schedule_study:
    """Every grid's exact metrics at every budget of evaluations, solver and seed, on one mixture (tidy rows)."""
    input:
        means="results/gmm/{experiment}/means.npy",
        mixture="results/gmm/{experiment}/mixture.json",
    output:
        "results/gmm/{experiment}/schedules.csv",
    wildcard_constraints:
        experiment=_one_of(SCHEDULE_EXPERIMENTS),
    params:
        study=recorded({key: value for key, value in GMM.get("schedule_study", {}).items() if key != "experiments"}),
        seeds=lambda wc: [derive_seed(gmm_seed(wc.experiment), wc.experiment, "schedule_study", i)
                          for i in range(GMM["schedule_study"]["seeds"])],
        mmse_seed=lambda wc: derive_seed(gmm_seed(wc.experiment), wc.experiment, "schedule_study", "mmse"),
    log:
        "results/logs/gmm_schedule_study/{experiment}.log",
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
        "results/models/{model}/schedules.csv",
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
        "results/logs/model_schedule_study/{model}.log",
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
        studies=["results/models/{model}/schedules.csv"],
    output:
        pdf="results/figures/{model}_schedules.pdf",
        png=report(
            "results/figures/{model}_schedules.png",
            caption="../report/model_schedules.rst",
            category="Beyond the paper",
            subcategory="{model}",
        ),
        csv="results/tables/{model}_schedules.csv",
        md="results/tables/{model}_schedules.md",
    params:
        title=lambda wc: f"Model {wc.model}",
    log:
        "results/logs/fig_model_schedules/{model}.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_schedules.py"


rule fig_gmm_schedules:
    """Quality against evaluations, one line per schedule, and which schedule wins where, with intervals."""
    input:
        studies=gmm_files(SCHEDULE_EXPERIMENTS, "results/gmm/{experiment}/schedules.csv"),
    output:
        pdf="results/figures/gmm_schedules.pdf",
        png=report(
            "results/figures/gmm_schedules.png",
            caption="../report/gmm_schedules.rst",
            category="Beyond the paper",
            subcategory="gmm",
        ),
        csv="results/tables/gmm_schedules.csv",
        md="results/tables/gmm_schedules.md",
    params:
        title="Gaussian mixtures, exact denoiser",
    log:
        "results/logs/fig_gmm_schedules.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_schedules.py"
