# Figures and tables: one script per figure family, reading tidy tables from results/.


rule fig_gmm_dimension_sweep:
    """GMM figures (a)-(c): VP, VE and flow-matching entropy curves for growing d, and the relative window width."""
    input:
        mixtures=[paths.mixture(e)["mixture"] for e in GMM["figures"]["dimension_sweep"]],
        curves=[paths.curve(paths.GMM, e, "exact") for e in GMM["figures"]["dimension_sweep"]],
        windows=[paths.windows(paths.GMM, e, "exact") for e in GMM["figures"]["dimension_sweep"]],
        samples=[paths.curve(paths.GMM, e, "exact", "npz") for e in GMM["figures"]["dimension_sweep"]],
    output:
        vp_pdf=paths.figure("gmm_vp_dimension_sweep", "pdf"),
        vp_png=report(
            paths.figure("gmm_vp_dimension_sweep", "png"),
            caption="../report/gmm_vp_dimension_sweep.rst",
            category="Gaussian-mixture theory",
        ),
        ve_pdf=paths.figure("gmm_ve_dimension_sweep", "pdf"),
        ve_png=report(
            paths.figure("gmm_ve_dimension_sweep", "png"),
            caption="../report/gmm_ve_dimension_sweep.rst",
            category="Gaussian-mixture theory",
        ),
        flow_pdf=paths.figure("gmm_flow_dimension_sweep", "pdf"),
        flow_png=report(
            paths.figure("gmm_flow_dimension_sweep", "png"),
            caption="../report/gmm_flow_dimension_sweep.rst",
            category="Gaussian-mixture theory",
        ),
        flow_csv=paths.table("gmm_flow_windows", "csv"),
        width_pdf=paths.figure("gmm_relative_width", "pdf"),
        width_png=report(
            paths.figure("gmm_relative_width", "png"),
            caption="../report/gmm_relative_width.rst",
            category="Gaussian-mixture theory",
        ),
    params:
        experiments=GMM["figures"]["dimension_sweep"],
        bootstrap=GMM["bootstrap"],
        seeds=[gmm_seed(e) for e in GMM["figures"]["dimension_sweep"]],
    log:
        paths.log("fig_gmm_dimension_sweep"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_gmm_dimension_sweep.py"


rule fig_gmm_flow_shift:
    """Rectified flow: where SD3's timestep shift puts a two-class mixture's entropy window among the sampler's steps."""
    output:
        pdf=paths.figure("gmm_flow_shift", "pdf"),
        png=report(
            paths.figure("gmm_flow_shift", "png"),
            caption="../report/gmm_flow_shift.rst",
            category="Gaussian-mixture theory",
        ),
        csv=paths.table("gmm_flow_shift", "csv"),
        md=paths.table("gmm_flow_shift", "md"),
    params:
        study=GMM.get("flow_shift"),
    log:
        paths.log("fig_gmm_flow_shift"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_gmm_flow_shift.py"


rule fig_gmm_hierarchy:
    """GMM figure (d): coarse and fine partitions of a hierarchical mixture resolve at different noise levels."""
    input:  # functions: a config without gmm figures (the pretrained models') must not build paths of no experiment
        mixture=lambda wc: paths.mixture(GMM["figures"]["hierarchy"])["mixture"],
        partitions=lambda wc: paths.partitions(paths.GMM, GMM["figures"]["hierarchy"]),
        curve=lambda wc: paths.curve(paths.GMM, GMM["figures"]["hierarchy"], "exact"),
        windows=lambda wc: paths.windows(paths.GMM, GMM["figures"]["hierarchy"], "exact"),
    output:
        paths.figure("gmm_hierarchy", "pdf"),
        report(
            paths.figure("gmm_hierarchy", "png"),
            caption="../report/gmm_hierarchy.rst",
            category="Gaussian-mixture theory",
        ),
    log:
        paths.log("fig_gmm_hierarchy"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_gmm_hierarchy.py"


rule table_gmm_windows:
    """Every GMM experiment's fitted windows against theory, as CSV and Markdown."""
    input:
        mixtures=[paths.mixture(e)["mixture"] for e in GMM["experiments"]],
        windows=gmm_result_files("windows"),
        curves=gmm_result_files("entropy"),
    output:
        csv=report(
            paths.table("gmm_windows", "csv"),
            caption="../report/tables.rst",
            category="Tables",
        ),
        md=paths.table("gmm_windows", "md"),
    log:
        paths.log("table_gmm_windows"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/table_gmm_windows.py"


rule fig_gmm_estimators:
    """The tracker variants and I-MMSE against the exact entropy, for chosen experiments and partitions."""
    input:
        curves=lambda wc: [
            paths.curve(paths.GMM, e, name)
            for e in sorted({e for e, _ in GMM["figures"]["estimators"]})
            for name in gmm_estimators(e)
        ],
    output:
        paths.figure("gmm_estimators", "pdf"),
        report(
            paths.figure("gmm_estimators", "png"),
            caption="../report/gmm_estimators.rst",
            category="Estimators on mixtures",
        ),
    params:
        panels=GMM["figures"]["estimators"],
    log:
        paths.log("fig_gmm_estimators"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_gmm_estimators.py"


rule fig_gmm_guidance:
    """Where guidance puts the semantic information: guided cross-entropy curves against the unguided tracker."""
    input:
        curves=lambda wc: [
            paths.curve(paths.GMM, GMM["figures"]["guidance"], name)
            for name in GMM["track"]["variants"]
        ],
        windows=lambda wc: [
            paths.windows(paths.GMM, GMM["figures"]["guidance"], name)
            for name in GMM["track"]["variants"]
        ],
        reference=lambda wc: [paths.curve(paths.GMM, GMM["figures"]["guidance"], "exact")],
    output:
        pdf=paths.figure("gmm_guidance", "pdf"),
        png=report(
            paths.figure("gmm_guidance", "png"),
            caption="../report/gmm_guidance.rst",
            category="Estimators on mixtures",
        ),
        csv=paths.table("gmm_guidance", "csv"),
        md=paths.table("gmm_guidance", "md"),
    params:
        variants=GMM["track"]["variants"],
        baseline="track",
        reference_label="exact (model joint)",
        name=GMM["figures"]["guidance"],
    log:
        paths.log("fig_gmm_guidance"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_guidance.py"


rule fig_gmm_tracker_bias:
    """The tracker's discretisation bias against the number of sampler steps, for three kernel choices."""
    input:
        paths.table("gmm_tracker_bias", "csv"),
    output:
        paths.figure("gmm_tracker_bias", "pdf"),
        report(
            paths.figure("gmm_tracker_bias", "png"),
            caption="../report/gmm_tracker_bias.rst",
            category="Estimators on mixtures",
        ),
    log:
        paths.log("fig_gmm_tracker_bias"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_gmm_tracker_bias.py"


rule fig_model_guidance:
    """A trained model's guidance sweep: where each CFG setting puts the class decision."""
    input:
        curves=lambda wc: [paths.curve(paths.MODELS, wc.model, run) for run in MODELS[wc.model]["runs"]],
        windows=lambda wc: [paths.windows(paths.MODELS, wc.model, run) for run in MODELS[wc.model]["runs"]],
        reference=lambda wc: [paths.curve(paths.MODELS, wc.model, model_reference(wc.model))] if model_reference(wc.model) else [],
    output:
        pdf=paths.figure("{model}_guidance", "pdf"),
        png=report(
            paths.figure("{model}_guidance", "png"),
            caption="../report/model_guidance.rst",
            category="Trained models", subcategory="{model}",
        ),
        csv=paths.table("{model}_guidance", "csv"),
        md=paths.table("{model}_guidance", "md"),
    params:
        variants=lambda wc: MODELS[wc.model]["runs"],
        baseline="unguided",
        reference_label=lambda wc: BACKEND[wc.model].reference_label,
        name=lambda wc: wc.model,
    log:
        paths.log("fig_model_guidance", "{model}"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_guidance.py"


rule fig_model_entropy:
    """A trained model's entropy and rate per partition, against its exact reference, with windows and theory."""
    input:
        curve=lambda wc: paths.curve(paths.MODELS, wc.model, "unguided"),
        windows=lambda wc: paths.windows(paths.MODELS, wc.model, "unguided"),
        reference=lambda wc: [paths.curve(paths.MODELS, wc.model, model_reference(wc.model))] if model_reference(wc.model) else [],
        exact_denoiser=lambda wc: (
            [paths.curve(paths.MODELS, wc.model, "exact-denoiser")] if BACKEND[wc.model].exact_tracker else []
        ),
        partitions=paths.partitions(paths.MODELS, "{model}"),
    output:
        paths.figure("{model}_entropy", "pdf"),
        report(
            paths.figure("{model}_entropy", "png"),
            caption="../report/model_entropy.rst",
            category="Trained models", subcategory="{model}",
        ),
    log:
        paths.log("fig_model_entropy", "{model}"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_model_entropy.py"


rule fig_model_samples:
    """Generated digits per class (unguided and the strongest guidance) and the training loss."""
    input:
        samples=lambda wc: [paths.samples(wc.model, run) for run in MODELS[wc.model]["runs"]],
        losses=paths.losses("{model}"),
        quality=paths.quality("{model}"),
    output:
        paths.figure("{model}_samples", "pdf"),
        report(
            paths.figure("{model}_samples", "png"),
            caption="../report/model_samples.rst",
            category="Trained models", subcategory="{model}",
        ),
    params:
        runs=lambda wc: MODELS[wc.model]["runs"],
    log:
        paths.log("fig_model_samples", "{model}"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_model_samples.py"


rule fig_model_speciation:
    """The picture of speciation: x0 estimates along trajectories with the tracked class posterior beside them."""
    input:
        samples=paths.samples("{model}", "unguided"),
        windows=paths.windows(paths.MODELS, "{model}", "unguided"),
    output:
        paths.figure("{model}_speciation", "pdf"),
        report(
            paths.figure("{model}_speciation", "png"),
            caption="../report/model_speciation.rst",
            category="Trained models", subcategory="{model}",
        ),
    log:
        paths.log("fig_model_speciation", "{model}"),
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
        partitions=[paths.partitions(paths.MODELS, model) for model in MODELS],
        quality=[paths.quality(model) for model in MODELS if trains(model)],
    output:
        windows_csv=report(
            paths.table("models_windows", "csv"),
            caption="../report/tables.rst",
            category="Tables",
        ),
        windows_md=paths.table("models_windows", "md"),
        quality_csv=paths.table("models_quality", "csv"),
        quality_md=paths.table("models_quality", "md"),
    params:
        models=MODELS,
    log:
        paths.log("table_models"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/table_models.py"


rule effective_config:
    """The config this run used, with every default filled in: provenance for the report and for reviewers."""
    output:
        report(paths.effective_config(), caption="../report/config.rst", category="Configuration"),
    params:
        config=recorded(config),   # its top level too (the dict Snakemake holds): recorded with sorted keys
    log:
        paths.log("effective_config"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/effective_config.py"


rule fig_model_images:
    """A model's decoded samples per class or prompt (unguided, strongest guidance) and x0 estimates along trajectories."""
    input:
        images=paths.images("{model}"),
    output:
        paths.figure("{model}_images", "pdf"),
        report(
            paths.figure("{model}_images", "png"),
            caption="../report/model_images.rst",
            category="Pretrained models", subcategory="{model}",
        ),
    log:
        paths.log("fig_model_images", "{model}"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/fig_model_images.py"
