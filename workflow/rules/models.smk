# Models: their partitions, the networks trained inside the DAG, and the quality of their samples.
# What differs between model families comes from the model's backend (entropic.backends).


rule model_partitions:
    """A model's partitions (built in and from its file or experiment) with the speciation scale of the data each acts on."""
    input:
        unpack(model_data_files),
        unpack(model_partition_files),
    output:
        paths.partitions(paths.MODELS, "{model}"),
    params:
        # its partition or prompt file: by its path in the project and its digest, so that the project moved
        # elsewhere reruns nothing and an edit of the file reruns this job
        sources=lambda wc: model_sources(wc.model),
        data=lambda wc: model_data(wc.model),
        hypotheses=lambda wc: HYPOTHESES[wc.model],
        seed=lambda wc: model_seed(wc.model, "data"),
    log:
        paths.log("model_partitions", "{model}"),
    threads: 1
    priority: 10   # cheap, and every readout of the model waits for it
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/model_partitions.py"


rule model_train:
    """Train the EDM-preconditioned denoiser (conditional and, by label dropout, unconditional) on the CPU."""
    input:
        unpack(model_data_files),
    output:
        checkpoint=paths.checkpoint("{model}"),
        losses=paths.losses("{model}"),
    params:
        data=lambda wc: model_data(wc.model),
        network=lambda wc: MODELS[wc.model]["network"],
        training=lambda wc: MODELS[wc.model]["training"],
        data_seed=lambda wc: model_seed(wc.model, "data"),
        seed=lambda wc: model_seed(wc.model, "training"),
    log:
        paths.log("model_train", "{model}"),
    threads: 1
    priority: 10
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/model_train.py"


rule model_quality:
    """Quality of every run's generated samples: classifier accuracy (and near-copies of training samples)."""
    input:
        unpack(model_data_files),
        samples=lambda wc: [paths.samples(wc.model, run) for run in MODELS[wc.model]["runs"]],
    output:
        paths.quality("{model}"),
    params:
        data=lambda wc: model_data(wc.model),
        runs=lambda wc: MODELS[wc.model]["runs"],
        data_seed=lambda wc: model_seed(wc.model, "data"),
        seed=lambda wc: model_seed(wc.model, "quality"),
    log:
        paths.log("model_quality", "{model}"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/model_quality.py"


rule model_images:
    """A model's samples and the x0 estimates along its snapshot trajectories decoded to images (uint8), for figures."""
    input:
        samples=lambda wc: [paths.samples(wc.model, run) for run in shown(wc.model)],
        vae=lambda wc: decoder_files(wc.model),    # the key decoder_files names (entropic.backends.base)
    output:
        paths.images("{model}"),
    params:
        backend=lambda wc: MODELS[wc.model]["backend"],
        hypotheses=lambda wc: HYPOTHESES[wc.model],
        runs=lambda wc: shown(wc.model),
        per_class=3,
        levels=8,
    log:
        paths.log("model_images", "{model}"),
    threads: 1
    resources:
        gpu=lambda wc: gpu(wc.model),
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/model_images.py"
