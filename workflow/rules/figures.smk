# Figures and tables: one script per figure family, reading tidy tables from results/.


rule fig_gmm_dimension_sweep:
    """GMM figures (a)-(c): VP and VE entropy curves for growing d, and the relative window width."""
    input:
        mixtures=gmm_files(GMM["figures"]["dimension_sweep"], "results/gmm/{experiment}/mixture.json"),
        curves=gmm_files(GMM["figures"]["dimension_sweep"], "results/gmm/{experiment}/entropy/exact.csv"),
        windows=gmm_files(GMM["figures"]["dimension_sweep"], "results/gmm/{experiment}/windows/exact.csv"),
    output:
        vp_pdf="results/figures/gmm_vp_dimension_sweep.pdf",
        vp_png="results/figures/gmm_vp_dimension_sweep.png",
        ve_pdf="results/figures/gmm_ve_dimension_sweep.pdf",
        ve_png="results/figures/gmm_ve_dimension_sweep.png",
        width_pdf="results/figures/gmm_relative_width.pdf",
        width_png="results/figures/gmm_relative_width.png",
    params:
        experiments=GMM["figures"]["dimension_sweep"],
    log:
        "results/logs/fig_gmm_dimension_sweep.log",
    threads: 1
    script:
        "../scripts/fig_gmm_dimension_sweep.py"


rule fig_gmm_hierarchy:
    """GMM figure (d): coarse and fine partitions of a hierarchical mixture resolve at different noise levels."""
    input:
        mixture=f"results/gmm/{GMM['figures']['hierarchy']}/mixture.json",
        partitions=f"results/gmm/{GMM['figures']['hierarchy']}/partitions.json",
        curve=f"results/gmm/{GMM['figures']['hierarchy']}/entropy/exact.csv",
        windows=f"results/gmm/{GMM['figures']['hierarchy']}/windows/exact.csv",
    output:
        "results/figures/gmm_hierarchy.pdf",
        "results/figures/gmm_hierarchy.png",
    log:
        "results/logs/fig_gmm_hierarchy.log",
    threads: 1
    script:
        "../scripts/fig_gmm_hierarchy.py"


rule table_gmm_windows:
    """Every GMM experiment's fitted windows against theory, as CSV and Markdown."""
    input:
        mixtures=gmm_files(GMM["experiments"], "results/gmm/{experiment}/mixture.json"),
        windows=gmm_window_files(),
    output:
        csv="results/tables/gmm_windows.csv",
        md="results/tables/gmm_windows.md",
    log:
        "results/logs/table_gmm_windows.log",
    threads: 1
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
        "results/figures/gmm_estimators.png",
    params:
        panels=GMM["figures"]["estimators"],
    log:
        "results/logs/fig_gmm_estimators.log",
    threads: 1
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
        exact=f"results/gmm/{GMM['figures']['guidance']}/entropy/exact.csv",
    output:
        pdf="results/figures/gmm_guidance.pdf",
        png="results/figures/gmm_guidance.png",
        csv="results/tables/gmm_guidance.csv",
        md="results/tables/gmm_guidance.md",
    params:
        variants=GMM["track"]["variants"],
    log:
        "results/logs/fig_gmm_guidance.log",
    threads: 1
    script:
        "../scripts/fig_gmm_guidance.py"


rule fig_gmm_tracker_bias:
    """The tracker's discretisation bias against the number of sampler steps, for three kernel choices."""
    input:
        "results/tables/gmm_tracker_bias.csv",
    output:
        "results/figures/gmm_tracker_bias.pdf",
        "results/figures/gmm_tracker_bias.png",
    log:
        "results/logs/fig_gmm_tracker_bias.log",
    threads: 1
    script:
        "../scripts/fig_gmm_tracker_bias.py"
