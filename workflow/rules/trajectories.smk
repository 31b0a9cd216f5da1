# Trajectories of trained models: the stochastic sampler with every hypothesis tracked, sharded by seed.


rule model_trajectories:
    """One shard of one run: sampler trajectories with the posterior of every class and the unconditional model."""
    input:
        unpack(model_network),
    output:
        "results/models/{model}/trajectories/{run}/shard-{shard}.npz",
    wildcard_constraints:
        shard=r"\d+",
    params:
        sampling=lambda wc: model_sampling(wc.model, wc.run),
        run=lambda wc: MODELS[wc.model]["runs"][wc.run],
        backend=lambda wc: MODELS[wc.model]["backend"],
        classes=lambda wc: model_classes(wc.model),
        batch=lambda wc: None if trains(wc.model) else MODELS[wc.model]["batch"],
        # The same seed for a shard in every run: runs differ by their settings, not by their noise.
        seed=lambda wc: model_seed(wc.model, "trajectories", wc.shard),
    log:
        "results/logs/model_trajectories/{model}-{run}-{shard}.log",
    threads: 1
    resources:
        gpu=lambda wc: 0 if trains(wc.model) else 1,   # EDM2 / SD sampling wants a GPU (profiles/slurm)
    priority: 5
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/model_trajectories.py"
