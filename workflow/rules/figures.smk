# Figures and tables: one script per figure family, reading tidy tables from results/.


rule fig_gmm_dimension_sweep:
    """GMM figures (a)-(c): VP, VE and flow-matching entropy curves for growing d, and the relative window width."""
    input:
        mixtures=gmm_files(GMM["figures"]["dimension_sweep"], "results/gmm/{experiment}/mixture.json"),
        curves=gmm_files(GMM["figures"]["dimension_sweep"], "results/gmm/{experiment}/entropy/exact.csv"),
        windows=gmm_files(GMM["figures"]["dimension_sweep"], "results/gmm/{experiment}/windows/exact.csv"),
        samples=gmm_files(GMM["figures"]["dimension_sweep"], "results/gmm/{experiment}/entropy/exact.npz"),
    output:
        vp_pdf="results/figures/gmm_vp_dimension_sweep.pdf",
        vp_png=report(
            "results/figures/gmm_vp_dimension_sweep.png",
            caption="../report/gmm_vp_dimension_sweep.rst",
            category="Gaussian-mixture theory",
        ),
        ve_pdf="results/figures/gmm_ve_dimension_sweep.pdf",
        ve_png=report(
            "results/figures/gmm_ve_dimension_sweep.png",
            caption="../report/gmm_ve_dimension_sweep.rst",
            category="Gaussian-mixture theory",
        ),
        flow_pdf="results/figures/gmm_flow_dimension_sweep.pdf",
        flow_png=report(
            "results/figures/gmm_flow_dimension_sweep.png",
            caption="../report/gmm_flow_dimension_sweep.rst",
            category="Gaussian-mixture theory",
        ),
        flow_csv="results/tables/gmm_flow_windows.csv",
        width_pdf="results/figures/gmm_relative_width.pdf",
        width_png=report(
            "results/figures/gmm_relative_width.png",
            caption="../report/gmm_relative_width.rst",
            category="Gaussian-mixture theory",
        ),
    params:
        experiments=GMM["figures"]["dimension_sweep"],
        bootstrap=GMM["bootstrap"],
        seeds=[gmm_seed(e) for e in GMM["figures"]["dimension_sweep"]],
    log:
        "results/logs/fig_gmm_dimension_sweep.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_gmm_dimension_sweep.py"


rule fig_gmm_flow_shift:
    """Rectified flow: where SD3's timestep shift puts a two-class mixture's entropy window among the sampler's steps."""
    output:
        pdf="results/figures/gmm_flow_shift.pdf",
        png=report(
            "results/figures/gmm_flow_shift.png",
            caption="../report/gmm_flow_shift.rst",
            category="Gaussian-mixture theory",
        ),
        csv="results/tables/gmm_flow_shift.csv",
        md="results/tables/gmm_flow_shift.md",
    params:
        study=GMM.get("flow_shift"),
    log:
        "results/logs/fig_gmm_flow_shift.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_gmm_flow_shift.py"


rule fig_gmm_hierarchy:
    """GMM figure (d): coarse and fine partitions of a hierarchical mixture resolve at different noise levels."""
    input:  # functions: a config without gmm figures (the pretrained models') must not build paths results/gmm//...
        mixture=lambda wc: f"results/gmm/{GMM['figures']['hierarchy']}/mixture.json",
        partitions=lambda wc: f"results/gmm/{GMM['figures']['hierarchy']}/partitions.json",
        curve=lambda wc: f"results/gmm/{GMM['figures']['hierarchy']}/entropy/exact.csv",
        windows=lambda wc: f"results/gmm/{GMM['figures']['hierarchy']}/windows/exact.csv",
    output:
        "results/figures/gmm_hierarchy.pdf",
        report(
            "results/figures/gmm_hierarchy.png",
            caption="../report/gmm_hierarchy.rst",
            category="Gaussian-mixture theory",
        ),
    log:
        "results/logs/fig_gmm_hierarchy.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_gmm_hierarchy.py"


rule table_gmm_windows:
    """Every GMM experiment's fitted windows against theory, as CSV and Markdown."""
    input:
        mixtures=gmm_files(GMM["experiments"], "results/gmm/{experiment}/mixture.json"),
        windows=gmm_result_files("windows"),
        curves=gmm_result_files("entropy"),
    output:
        csv=report(
            "results/tables/gmm_windows.csv",
            caption="../report/tables.rst",
            category="Tables",
        ),
        md="results/tables/gmm_windows.md",
    log:
        "results/logs/table_gmm_windows.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/table_gmm_windows.py"


rule fig_gmm_estimators:
    """The tracker variants and I-MMSE against the exact entropy, for chosen experiments and partitions."""
    input:
        curves=lambda wc: [
            f"results/gmm/{e}/entropy/{name}.csv"
            for e in sorted({e for e, _ in GMM["figures"]["estimators"]})
            for name in gmm_estimators(e)
        ],
    output:
        "results/figures/gmm_estimators.pdf",
        report(
            "results/figures/gmm_estimators.png",
            caption="../report/gmm_estimators.rst",
            category="Estimators on mixtures",
        ),
    params:
        panels=GMM["figures"]["estimators"],
    log:
        "results/logs/fig_gmm_estimators.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_gmm_estimators.py"


rule fig_gmm_guidance:
    """Where guidance puts the semantic information: guided cross-entropy curves against the unguided tracker."""
    input:
        curves=lambda wc: [
            f"results/gmm/{GMM['figures']['guidance']}/entropy/{name}.csv"
            for name in GMM["track"]["variants"]
        ],
        windows=lambda wc: [
            f"results/gmm/{GMM['figures']['guidance']}/windows/{name}.csv"
            for name in GMM["track"]["variants"]
        ],
        reference=lambda wc: [f"results/gmm/{GMM['figures']['guidance']}/entropy/exact.csv"],
    output:
        pdf="results/figures/gmm_guidance.pdf",
        png=report(
            "results/figures/gmm_guidance.png",
            caption="../report/gmm_guidance.rst",
            category="Estimators on mixtures",
        ),
        csv="results/tables/gmm_guidance.csv",
        md="results/tables/gmm_guidance.md",
    params:
        variants=GMM["track"]["variants"],
        baseline="track",
        reference_label="exact (model joint)",
        name=GMM["figures"]["guidance"],
    log:
        "results/logs/fig_gmm_guidance.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_guidance.py"


rule fig_gmm_tracker_bias:
    """The tracker's discretisation bias against the number of sampler steps, for three kernel choices."""
    input:
        "results/tables/gmm_tracker_bias.csv",
    output:
        "results/figures/gmm_tracker_bias.pdf",
        report(
            "results/figures/gmm_tracker_bias.png",
            caption="../report/gmm_tracker_bias.rst",
            category="Estimators on mixtures",
        ),
    log:
        "results/logs/fig_gmm_tracker_bias.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_gmm_tracker_bias.py"


rule fig_model_guidance:
    """A trained model's guidance sweep: where each CFG setting puts the class decision."""
    input:
        curves=lambda wc: [f"results/models/{wc.model}/entropy/{run}.csv" for run in MODELS[wc.model]["runs"]],
        windows=lambda wc: [f"results/models/{wc.model}/windows/{run}.csv" for run in MODELS[wc.model]["runs"]],
        reference=lambda wc: [f"results/models/{wc.model}/entropy/{model_reference(wc.model)}.csv"] if model_reference(wc.model) else [],
    output:
        pdf="results/figures/{model}_guidance.pdf",
        png=report(
            "results/figures/{model}_guidance.png",
            caption="../report/model_guidance.rst",
            category="Trained models", subcategory="{model}",
        ),
        csv="results/tables/{model}_guidance.csv",
        md="results/tables/{model}_guidance.md",
    params:
        variants=lambda wc: MODELS[wc.model]["runs"],
        baseline="unguided",
        reference_label=lambda wc: BACKEND[wc.model].reference_label,
        name=lambda wc: wc.model,
    log:
        "results/logs/fig_model_guidance/{model}.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_guidance.py"


rule fig_model_entropy:
    """A trained model's entropy and rate per partition, against its exact reference, with windows and theory."""
    input:
        curve=lambda wc: f"results/models/{wc.model}/entropy/unguided.csv",
        windows=lambda wc: f"results/models/{wc.model}/windows/unguided.csv",
        reference=lambda wc: [f"results/models/{wc.model}/entropy/{model_reference(wc.model)}.csv"] if model_reference(wc.model) else [],
        exact_denoiser=lambda wc: (
            [f"results/models/{wc.model}/entropy/exact-denoiser.csv"] if BACKEND[wc.model].exact_tracker else []
        ),
        partitions="results/models/{model}/partitions.json",
    output:
        "results/figures/{model}_entropy.pdf",
        report(
            "results/figures/{model}_entropy.png",
            caption="../report/model_entropy.rst",
            category="Trained models", subcategory="{model}",
        ),
    log:
        "results/logs/fig_model_entropy/{model}.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_model_entropy.py"


rule fig_model_samples:
    """Generated digits per class (unguided and the strongest guidance) and the training loss."""
    input:
        samples=lambda wc: [f"results/models/{wc.model}/samples/{run}.npz" for run in MODELS[wc.model]["runs"]],
        losses="results/models/{model}/training.csv",
        quality="results/models/{model}/quality.csv",
    output:
        "results/figures/{model}_samples.pdf",
        report(
            "results/figures/{model}_samples.png",
            caption="../report/model_samples.rst",
            category="Trained models", subcategory="{model}",
        ),
    params:
        runs=lambda wc: MODELS[wc.model]["runs"],
    log:
        "results/logs/fig_model_samples/{model}.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_model_samples.py"


rule fig_model_speciation:
    """The picture of speciation: x0 estimates along trajectories with the tracked class posterior beside them."""
    input:
        samples="results/models/{model}/samples/unguided.npz",
        windows="results/models/{model}/windows/unguided.csv",
    output:
        "results/figures/{model}_speciation.pdf",
        report(
            "results/figures/{model}_speciation.png",
            caption="../report/model_speciation.rst",
            category="Trained models", subcategory="{model}",
        ),
    log:
        "results/logs/fig_model_speciation/{model}.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_model_speciation.py"


rule table_models:
    """Every trained model's windows (runs and reference) against theory, and the quality of its samples."""
    input:
        windows=model_result_files("windows"),
        curves=model_result_files("entropy"),
        partitions=[f"results/models/{model}/partitions.json" for model in MODELS],
        quality=[f"results/models/{model}/quality.csv" for model in MODELS if trains(model)],
    output:
        windows_csv=report(
            "results/tables/models_windows.csv",
            caption="../report/tables.rst",
            category="Tables",
        ),
        windows_md="results/tables/models_windows.md",
        quality_csv="results/tables/models_quality.csv",
        quality_md="results/tables/models_quality.md",
    params:
        models=MODELS,
    log:
        "results/logs/table_models.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/table_models.py"


rule effective_config:
    """The config this run used, with every default filled in: provenance for the report and for reviewers."""
    output:
        report("results/config.yaml", caption="../report/config.rst", category="Configuration"),
    params:
        config=recorded(config),   # its top level too (the dict Snakemake holds): recorded with sorted keys
    log:
        "results/logs/effective_config.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/effective_config.py"


rule fig_model_images:
    """A model's decoded samples per class or prompt (unguided, strongest guidance) and x0 estimates along trajectories."""
    input:
        images="results/models/{model}/images.npz",
    output:
        "results/figures/{model}_images.pdf",
        report(
            "results/figures/{model}_images.png",
            caption="../report/model_images.rst",
            category="Pretrained models", subcategory="{model}",
        ),
    log:
        "results/logs/fig_model_images/{model}.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_model_images.py"
