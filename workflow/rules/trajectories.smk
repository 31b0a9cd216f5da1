# Trajectories of trained models: the stochastic sampler with every hypothesis tracked, sharded by seed.


rule model_trajectories:
    """One shard of one run: sampler trajectories with the posterior of every class and the unconditional model."""
    input:
        checkpoint="results/models/{model}/checkpoint.pt",
    output:
        "results/models/{model}/trajectories/{run}/shard-{shard}.npz",
    wildcard_constraints:
        shard=r"\d+",
    params:
        sampling=lambda wc: model_sampling(wc.model, wc.run),
        run=lambda wc: MODELS[wc.model]["runs"][wc.run],
        # The same seed for a shard in every run: runs differ by their settings, not by their noise.
        seed=lambda wc: model_seed(wc.model, "trajectories", wc.shard),
    log:
        "results/logs/model_trajectories/{model}-{run}-{shard}.log",
    threads: 1
    priority: 5
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/model_trajectories.py"
