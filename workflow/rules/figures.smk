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


register(
    rules.fig_gmm_dimension_sweep,
    when=bool(GMM["figures"]["dimension_sweep"]),
    what={
        "gmm_vp_dimension_sweep": "two classes ±m, ‖m‖² = d from 10 to 10⁶: H and \\|dH/dt\\| against VP time, raw and "
        "against t − ½ log Λ (the curves collapse: the window keeps its width 1.31 while t_S grows like ½ log d)",
        "gmm_ve_dimension_sweep": "the same mixtures in EDM σ, raw and against σ/σ_S (they collapse too: the width grows "
        "with σ_S)",
        "gmm_flow_dimension_sweep": "the same curves in rectified-flow time t = σ/(1 + σ), raw and against (1 − t)/(1 − t_S): "
        "the window crowds towards pure noise, 1 − t_S = 1/(1 + σ_S) ∝ Λ^−½ ([flow matching](flow-matching.md))",
        "gmm_flow_windows": "the windows of those curves in flow time (the window CSV's columns, coordinate `flow_t`): t* "
        "from 0.766 (d = 10) to 0.9992 (d = 10⁶) against t_S 0.760 to 0.9990",
        "gmm_relative_width": "FWHM / peak location against d: VP sharpens (1.39 → 0.20), VE does not (≈ 1.2); in flow "
        "time FWHM / t* falls like d^−½ (0.398 → 0.00143) while FWHM / (1 − t*) tends to 1.74; with the two-class "
        "closed forms",
    },
)


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


register(
    rules.fig_gmm_flow_shift,
    when="flow_shift" in GMM,
    what="beyond the paper: where SD3's timestep shift (3, 28 steps) puts the sampler's steps against the window of two "
    "classes ±m at the latent size of 256² and 1024² images, for assumed class signals \\|m\\|²/d from 0.001 to 1: at "
    "0.01 per dimension and 1024², 0 of 28 steps in the window unshifted, 2 with the shift "
    "([flow matching](flow-matching.md#sd3s-resolution-dependent-shift))",
)


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


register(
    rules.fig_gmm_hierarchy,
    when=bool(GMM["figures"]["hierarchy"]),
    what="3 superclasses × 3 subclasses: the coarse partition's entropy falls fastest near σ ≈ 30, the fine one's near "
    "σ ≈ 4.7 (the peaks of dH/dlog σ the figure marks; σ_S = 31.6 and 5; the table's σ*, the peak of dH/dσ, is 24 and "
    "3.7)",
)


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


register(
    rules.table_gmm_windows,
    when=bool(GMM["experiments"]),
    what="every experiment's, partition's and estimator's window against theory",
)


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


register(
    rules.fig_gmm_estimators,
    when=bool(GMM["figures"]["estimators"]),
    what="the tracker variants (EDM and SD1.5 DDPM grids, paper and exact kernels) and I-MMSE against the exact "
    "entropy, with their error ±2 SE",
)


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


register(
    rules.fig_gmm_guidance,
    when=bool(GMM["figures"]["guidance"]),
    what="tracked cross-entropy under CFG w = 2, 4 and w = 4 on σ ∈ (20, 80]: guidance moves the decision to higher "
    "noise; the table, per guidance setting: half-entropy and peak noise level with CIs, shift, share of the drop moved",
)


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


register(
    rules.fig_gmm_tracker_bias,
    when=bool(GMM["tracker_bias"]["experiment"]),
    what="the tracker's bias against the number of steps (16 to 256) for three kernel choices",
)


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


register(
    rules.fig_model_guidance,
    when=[model for model, spec in MODELS.items() if len(spec["runs"]) > 1],
    what="a model's guidance sweep (digits: CFG w = 2, 4 everywhere and w = 4 above, inside and below the window); the "
    "table, per guidance setting: half-entropy and peak noise level with CIs, shift, share of the drop moved",
)


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


register(
    rules.fig_model_entropy,
    when=list(MODELS),
    what="tracked H and dH/dlog σ per partition against the model's exact reference, with the window and σ_S: for "
    "digits (classes, loops vs strokes, an easy and a hard pair, every class against the unconditional model) the "
    "exact entropy of the training set; for gmm-net, the same network trained on 2,000 samples of a 10-class mixture "
    "(k10-d64), the mixture's exact curves",
)


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


register(
    rules.fig_model_samples,
    when=models_with_figure("samples"),
    what="for a model whose backend lists the `samples` figure (digits): ten generated samples per class, unguided and "
    "with guidance, with the classifier accuracy; the training loss",
)


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


register(
    rules.fig_model_speciation,
    when=models_with_figure("speciation"),
    what="the picture of speciation (digits): x̂0 along unguided trajectories at noise levels across the window, with "
    "the tracked class posterior beside each",
)


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


register(
    rules.table_models,
    when=bool(MODELS),
    what={
        "models_windows": "every trained model's windows per run and partition, and of its exact reference, with σ_S",
        "models_quality": "per run: classifier accuracy of the generated samples and near-copies of training images",
    },
)


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


register(
    rules.effective_config,
    when=True,
    what="the config the run used, every default filled in",
)


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


register(
    rules.fig_model_images,
    when=models_with_figure("images"),
    what="for a model whose backend lists the `images` figure (the pretrained ones: EDM2, SD1.5, SD2.1, DiT, SD3; none "
    "in the default run, which needs no GPU): samples per class or prompt as images (latents decoded by the model's "
    "VAE), unguided and with the strongest guidance, and x̂0 of unguided trajectories at eight noise levels with the "
    "tracked posterior beneath each ([models](models.md))",
)
