# Entropy curves of models: tracked posteriors read per partition, and the exact reference of trained ones.


rule model_entropy:
    """Merge a run's shards; the tracked entropy curve of every partition, and the run's samples."""
    input:
        shards=model_shards,
        partitions=paths.partitions(paths.MODELS, "{model}"),
    output:
        curve=paths.curve(paths.MODELS, "{model}", "{run}"),
        samples=paths.curve(paths.MODELS, "{model}", "{run}", "npz"),
        generated=paths.samples("{model}", "{run}"),
    params:
        run=lambda wc: MODELS[wc.model]["runs"][wc.run],
        seed=lambda wc: model_seed(wc.model, "readout", wc.run),
    log:
        paths.log("model_entropy", "{model}", "{run}"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/model_entropy.py"


rule model_reference_entropy:
    """The exact entropy the trained network is measured against: its training set's (digits) or its mixture's (gmm)."""
    input:
        unpack(model_data_files),
        partitions=paths.partitions(paths.MODELS, "{model}"),
    output:
        curve=paths.curve(paths.MODELS, "{model}", "{reference}"),
        samples=paths.curve(paths.MODELS, "{model}", "{reference}", "npz"),
    wildcard_constraints:
        reference=_one_of(REFERENCES),
    params:
        data=lambda wc: model_data(wc.model),
        sampler=lambda wc: MODELS[wc.model]["sampler"],
        # the reference's own settings, and the quasi-Monte Carlo settings of an exact mixture curve
        reference=lambda wc: recorded({**GMM["exact"], **MODELS[wc.model]["reference"]}),
        data_seed=lambda wc: model_seed(wc.model, "data"),
        seed=lambda wc: model_seed(wc.model, "reference"),
    log:
        paths.log("model_reference_entropy", "{model}", "{reference}"),
    threads: 1
    priority: 5
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/model_reference_entropy.py"


rule model_exact_tracker:
    """The paper's tracker with the exact denoiser of the model's data, on the model's grid: the network's error isolated."""
    input:
        unpack(model_data_files),
        partitions=paths.partitions(paths.MODELS, "{model}"),
    output:
        curve=paths.curve(paths.MODELS, "{model}", "exact-denoiser"),
        samples=paths.curve(paths.MODELS, "{model}", "exact-denoiser", "npz"),
    params:
        data=lambda wc: model_data(wc.model),
        sampling=lambda wc: model_sampling(wc.model, "unguided"),
        seed=lambda wc: model_seed(wc.model, "trajectories", 0),
    log:
        paths.log("model_exact_tracker", "{model}"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/model_exact_tracker.py"
