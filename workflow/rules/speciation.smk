# Speciation windows: peak, width, half-entropy point and 80% interval of every curve, with bootstrap CIs.
# One rule for every track: results/gmm/<experiment>/... and results/models/<model>/...


rule speciation:
    """Fit the window of every partition's curve in VP time, EDM sigma and log sigma."""
    input:
        curve="results/{track}/{name}/entropy/{estimator}.csv",
        samples="results/{track}/{name}/entropy/{estimator}.npz",
        partitions="results/{track}/{name}/partitions.json",
    output:
        "results/{track}/{name}/windows/{estimator}.csv",
    wildcard_constraints:
        track="gmm|models",
    params:
        settings=speciation_settings,
    log:
        "results/logs/speciation/{track}-{name}-{estimator}.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/speciation.py"
