# What a sampler's grid buys at few function evaluations (beyond the paper): EDM's grid against grids placed by
# the entropic time (Stancevic, Handke & Ambrogioni 2025, arXiv:2504.13612), its rescaled form and the class
# entropy (entropic.schedules), sampled by the deterministic ODE sampler. On a Gaussian-mixture experiment with
# its exact denoiser, exact starts and exact metrics (entropic.schedule_study): results/gmm/<experiment>/schedules.csv.


# The experiments of the gmm schedule study (none without `gmm.schedule_study`).
SCHEDULE_EXPERIMENTS = GMM.get("schedule_study", {}).get("experiments", [])


def schedule_targets():
    """The schedule study's figure and table, where the config has `gmm.schedule_study` (none otherwise)."""
    if "schedule_study" not in GMM:
        return []
    return _figure("gmm_schedules") + _table("gmm_schedules")


rule gmm_schedule_study:
    """Every grid's exact metrics at every budget of evaluations, solver and seed, on each mixture (tidy rows).
    One job for every mixture: each takes 1 to 4 s, less than a job's start-up with torch would add."""
    input:
        means=gmm_files(SCHEDULE_EXPERIMENTS, "results/gmm/{experiment}/means.npy"),
        mixtures=gmm_files(SCHEDULE_EXPERIMENTS, "results/gmm/{experiment}/mixture.json"),
    output:
        gmm_files(SCHEDULE_EXPERIMENTS, "results/gmm/{experiment}/schedules.csv"),
    params:
        experiments=SCHEDULE_EXPERIMENTS,
        study={key: value for key, value in GMM.get("schedule_study", {}).items() if key != "experiments"},
        seeds={e: [derive_seed(gmm_seed(e), e, "schedule_study", i) for i in range(GMM["schedule_study"]["seeds"])]
               for e in SCHEDULE_EXPERIMENTS},
        mmse_seeds={e: derive_seed(gmm_seed(e), e, "schedule_study", "mmse") for e in SCHEDULE_EXPERIMENTS},
    log:
        "results/logs/gmm_schedule_study.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/gmm_schedule_study.py"


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
