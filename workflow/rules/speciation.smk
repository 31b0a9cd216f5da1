# Speciation windows: peak, width, half-entropy point and 80% interval of every curve, with bootstrap CIs.


rule gmm_speciation:
    """Fit the window of every partition's curve in VP time, EDM sigma and log sigma."""
    input:
        curve="results/gmm/{experiment}/entropy/{estimator}.csv",
        samples="results/gmm/{experiment}/entropy/{estimator}.npz",
        partitions="results/gmm/{experiment}/partitions.json",
    output:
        "results/gmm/{experiment}/windows/{estimator}.csv",
    params:
        bootstrap=GMM["bootstrap"],
        seed=lambda wc: gmm_seed(wc.experiment),
    log:
        "results/logs/gmm_speciation/{experiment}-{estimator}.log",
    threads: 1
    script:
        "../scripts/gmm_speciation.py"

