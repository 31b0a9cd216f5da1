# Gaussian-mixture theory track (PAPER.md 3): the mixtures and their exact entropy curves.


rule gmm_mixture:
    """Draw an experiment's mixture; write its exact means, variance, weights and partitions."""
    output:
        means="results/gmm/{experiment}/means.npy",
        mixture="results/gmm/{experiment}/mixture.json",
        partitions="results/gmm/{experiment}/partitions.json",
    params:
        spec=lambda wc: GMM["experiments"][wc.experiment],
        seed=lambda wc: gmm_seed(wc.experiment),
    log:
        "results/logs/gmm_mixture/{experiment}.log",
    threads: 1
    script:
        "../scripts/gmm_mixture.py"


rule gmm_exact_entropy:
    """Exact H[f(Z) | X_sigma] and its rate for every partition, by randomised quasi-Monte Carlo."""
    input:
        means="results/gmm/{experiment}/means.npy",
        mixture="results/gmm/{experiment}/mixture.json",
        partitions="results/gmm/{experiment}/partitions.json",
    output:
        curve="results/gmm/{experiment}/entropy/exact.csv",
        samples="results/gmm/{experiment}/entropy/exact.npz",
    params:
        grid=GMM["grid"],
        exact=GMM["exact"],
        seed=lambda wc: gmm_seed(wc.experiment),
    log:
        "results/logs/gmm_exact_entropy/{experiment}.log",
    threads: 1
    script:
        "../scripts/gmm_exact_entropy.py"
