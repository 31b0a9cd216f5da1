# Trained models (the `digits` default, networks trained on Gaussian-mixture samples): partitions and training.


rule model_partitions:
    """A model's partitions (built in and from its file or experiment) with the speciation scale of the data each acts on."""
    input:
        unpack(model_gmm_inputs),
        file=lambda wc: (
            project_path(MODELS[wc.model]["prompts" if MODELS[wc.model]["backend"] == "sd15" else "partitions"])
            if MODELS[wc.model]["backend"] != "gmm"
            else []
        ),
        experiment=lambda wc: (
            f"results/gmm/{MODELS[wc.model]['experiment']}/partitions.json"
            if MODELS[wc.model]["backend"] == "gmm"
            else []
        ),
        # sd15: the first job with the tokenizer refuses prompts it cannot tell apart, before any sampling
        tokenizer=lambda wc: tokenizer_files(wc.model),
    output:
        "results/models/{model}/partitions.json",
    params:
        data=lambda wc: model_data(wc.model),
        seed=lambda wc: model_seed(wc.model, "data"),
    log:
        "results/logs/model_partitions/{model}.log",
    threads: 1
    priority: 10   # cheap, and every readout of the model waits for it
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/model_partitions.py"


rule model_train:
    """Train the EDM-preconditioned denoiser (conditional and, by label dropout, unconditional) on the CPU."""
    input:
        unpack(model_gmm_inputs),
    output:
        checkpoint="results/models/{model}/checkpoint.pt",
        losses="results/models/{model}/training.csv",
    params:
        data=lambda wc: model_data(wc.model),
        network=lambda wc: MODELS[wc.model]["network"],
        training=lambda wc: MODELS[wc.model]["training"],
        data_seed=lambda wc: model_seed(wc.model, "data"),
        seed=lambda wc: model_seed(wc.model, "training"),
    log:
        "results/logs/model_train/{model}.log",
    threads: 1
    priority: 10
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/model_train.py"


rule model_quality:
    """Quality of every run's generated samples: classifier accuracy (and near-copies of training images)."""
    input:
        unpack(model_gmm_inputs),
        samples=lambda wc: [f"results/models/{wc.model}/samples/{run}.npz" for run in MODELS[wc.model]["runs"]],
    output:
        "results/models/{model}/quality.csv",
    params:
        data=lambda wc: model_data(wc.model),
        runs=lambda wc: MODELS[wc.model]["runs"],
        data_seed=lambda wc: model_seed(wc.model, "data"),
        seed=lambda wc: model_seed(wc.model, "quality"),
    log:
        "results/logs/model_quality/{model}.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/model_quality.py"
