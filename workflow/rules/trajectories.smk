# Trajectories: the stochastic sampler with every hypothesis tracked, sharded by seed.


rule model_trajectories:
    """One shard of one run: sampler trajectories with the posterior of every hypothesis and the unconditional model."""
    input:
        unpack(model_network),
    output:
        paths.shard("{model}", "{run}", "{shard}"),
    wildcard_constraints:
        shard=r"\d+",
    params:
        spec=lambda wc: model_loading(wc.model),
        sampling=lambda wc: model_sampling(wc.model, wc.run),
        run=lambda wc: MODELS[wc.model]["runs"][wc.run],
        # what the trajectories condition on: a change reruns sampling, a partition edit does not
        hypotheses=lambda wc: HYPOTHESES[wc.model],
        # The same seed for a shard in every run: runs differ by their settings, not by their noise.
        seed=lambda wc: model_seed(wc.model, "trajectories", wc.shard),
    log:
        paths.log("model_trajectories", "{model}", "{run}", "{shard}"),
    threads: 1
    resources:
        gpu=lambda wc: gpu(wc.model),   # a pretrained model's sampling wants a GPU (profiles/slurm)
    priority: 5
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/model_trajectories.py"
