# Config validation and the input functions shared by the rule files.

import os
import re
from types import SimpleNamespace as Namespace

from snakemake.exceptions import WorkflowError

from entropic import download
from entropic.configuration import derive_seed, validate_config
from entropic.partitions import read_partition_file
from entropic.trained import classes_in_play

_config_errors = validate_config(config, root=workflow.basedir)
if _config_errors:
    raise WorkflowError("invalid config:\n  " + "\n  ".join(_config_errors))

GMM = config["gmm"]
MODELS = config["models"]


def _one_of(names):
    """A wildcard regex matching exactly these names (none: matches nothing)."""
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) or "(?!)"



def gmm_seed(experiment):
    """The experiment's own seed, or the track's."""
    return GMM["experiments"][experiment].get("seed", GMM["seed"])


def gmm_files(experiments, pattern):
    """`pattern` (with {experiment}) filled in for each experiment."""
    return [pattern.format(experiment=e) for e in experiments]


def gmm_estimators(experiment):
    """The estimators whose curves an experiment gets: exact, every tracker variant it is listed for, immse."""
    names = ["exact"]
    if experiment in GMM["track"]["experiments"]:
        names += list(GMM["track"]["variants"])
    if experiment in GMM["immse"]["experiments"]:
        names.append("immse")
    return names


def gmm_result_files(kind):
    """The `kind` CSV ("entropy": curves, "windows": fits) of every experiment and estimator."""
    return [
        f"results/gmm/{e}/{kind}/{name}.csv"
        for e in GMM["experiments"]
        for name in gmm_estimators(e)
    ]


def project_path(path):
    """A path from the config, relative to the project root (the Snakefile's folder) unless absolute."""
    return path if os.path.isabs(path) else os.path.join(workflow.basedir, path)


def model_seed(model, *keys):
    """A seed for one purpose of one model, derived from its config seed."""
    return derive_seed(MODELS[model]["seed"], model, *keys)


def model_data(model):
    """The keys of a model entry that define its training data (what the data-dependent rules depend on)."""
    return {k: v for k, v in MODELS[model].items() if k in ("backend", "experiment", "train_samples")}


def model_sampling(model, run):
    """What one run's trajectories depend on: the sampler, the number of trajectories, shards, snapshots, and
    whether they keep what the combined readout needs."""
    spec = MODELS[model]
    return dict(
        sampler=spec["sampler"],
        trajectories=spec["runs"][run].get("trajectories", spec["trajectories"]),
        shards=spec["shards"],
        snapshots=spec["snapshots"],
        # the combined readout of an unguided run needs the distances between the hypotheses' x0 estimates
        keep_distances=spec["estimate"] == "combined" and spec["runs"][run].get("guidance", 1.0) == 1.0,
    )


def model_reference(model):
    """The estimator name of a model's exact reference curve: the training set's (digits) or the mixture's
    (gmm); None for a pretrained model, whose data distribution is not known exactly."""
    return {"digits": "empirical", "gmm": "exact"}.get(MODELS[model]["backend"])


def trains(model):
    """Whether the model is a network trained inside the DAG (digits, gmm) rather than downloaded."""
    return MODELS[model]["backend"] in ("digits", "gmm")


def model_classes(model):
    """The classes in play of a pretrained model: those its partition file names (each one a tracked
    hypothesis); None for a trained model, which tracks all its classes."""
    spec = MODELS[model]
    if spec["backend"] != "edm2":
        return None
    return classes_in_play(read_partition_file(project_path(spec["partitions"]), 1000))


def model_network(wildcards):
    """What one run samples from: the trained checkpoint, the EDM2 pickles (run overrides first), or the
    SD1.5 pipeline files and the prompt file."""
    inputs = network_files(wildcards.model, wildcards.run)
    placed = MODELS[wildcards.model]["runs"][wildcards.run].get("guidance_placement")
    if placed:   # the window (and rate curve) of the source run place the guidance
        inputs["windows"] = f"results/models/{wildcards.model}/windows/{placed['source']}.csv"
        inputs["curve"] = f"results/models/{wildcards.model}/entropy/{placed['source']}.csv"
    return inputs


def network_files(model, run_name):
    """The network files of one run of a model (see model_network)."""
    spec = MODELS[model]
    if spec["backend"] == "edm2":
        run = spec["runs"][run_name]
        return {key: f"resources/edm2/{run.get(key, spec[key])}" for key in ("net", "gnet")}
    if spec["backend"] == "sd15":
        return {"pipeline": sd15_files(), "prompts": project_path(spec["prompts"])}
    return {"checkpoint": f"results/models/{model}/checkpoint.pt"}


# The sampler of the gmm track's guidance study: the paper's EDM grid.
STUDY_SAMPLER = {"steps": 64, "sigma_min": 0.002, "sigma_max": 80.0, "rho": 7.0}


def study_config(track, name):
    """The guidance_study entry of a model (track 'models') or of the gmm track."""
    return GMM["guidance_study"] if track == "gmm" else MODELS[name]["guidance_study"]


def study_seed(wildcards, *keys):
    """Seeds of a guidance study, derived from the model's or the experiment's seed."""
    if wildcards.track == "gmm":
        return derive_seed(gmm_seed(wildcards.name), wildcards.name, "guidance_study", *keys)
    return model_seed(wildcards.name, "guidance_study", *keys)


def study_source(track, name):
    """The entropy curve and window fits that place a study's guidance: the unguided run's (models) or the
    experiment's exact ones (gmm)."""
    if track == "gmm":
        return f"results/gmm/{name}/windows/exact.csv", f"results/gmm/{name}/entropy/exact.csv"
    source = MODELS[name]["guidance_study"]["source"]
    return f"results/models/{name}/windows/{source}.csv", f"results/models/{name}/entropy/{source}.csv"


def study_data(wildcards):
    """What a study's samples are measured against: the mixture (gmm track, gmm models), nothing (digits: the
    bundled data), or for a pretrained model its decoder, the FID and DINOv2 networks and reference statistics."""
    if wildcards.track == "gmm":
        return {"means": f"results/gmm/{wildcards.name}/means.npy", "mixture": f"results/gmm/{wildcards.name}/mixture.json"}
    if not trains(wildcards.name):
        return {
            "vae": decoder_files(wildcards.name),
            "inception": f"resources/fid/{download.INCEPTION_FILE}",
            "dinov2": expand("resources/dinov2-large/{file}", file=download.DINOV2_FILES),
            "statistics": MODELS[wildcards.name]["guidance_study"]["statistics"],
        }
    return model_gmm_inputs(Namespace(model=wildcards.name))


def study_inputs(wildcards):
    """A guidance study's sampling inputs: the network (or the mixture), and for the evaluation set the source
    window and curve and the tuning metrics (the limited interval is chosen there)."""
    if wildcards.track == "gmm":
        inputs = study_data(wildcards)
    else:
        spec = MODELS[wildcards.name]["guidance_study"]
        inputs = dict(network_files(wildcards.name, spec["source"]))
    if wildcards.set == "evaluation":   # the tuning set needs neither: it runs as soon as the network exists
        inputs["windows"], inputs["curve"] = study_source(wildcards.track, wildcards.name)
        inputs["tuning"] = f"results/{wildcards.track}/{wildcards.name}/guidance_study/tuning.csv"
    return inputs


def study_results(track, name):
    """The inputs of a study's figure: both sets' metrics and the window and curve that placed the guidance."""
    windows, curve = study_source(track, name)
    folder = f"results/{track}/{name}/guidance_study"
    return {"evaluation": f"{folder}/evaluation.csv", "tuning": f"{folder}/tuning.csv", "windows": windows, "curve": curve}


def study_selection(wildcards, track=None, name=None):
    """The metric the limited-interval grid search minimises: the exact KL on a mixture, FD for digits,
    FD-DINOv2 for a pretrained model."""
    track, name = track or wildcards.track, name or wildcards.name
    if track == "gmm" or MODELS[name]["backend"] == "gmm":
        return "kl"
    return "fd" if MODELS[name]["backend"] == "digits" else "fd_dinov2"


def sd15_files():
    """The Stable Diffusion 1.5 files the pipeline reads (download rule download_sd15); model_index.json first."""
    return [f"resources/stable-diffusion-v1-5/{name}" for name in download.SD15_FILES]


def decoder_files(model):
    """The VAE that turns a pretrained model's latents into images."""
    if MODELS[model]["backend"] == "sd15":
        return [f for f in sd15_files() if "/vae/" in f]
    return expand("resources/sd-vae-ft-mse/{file}", file=download.SD_VAE_FILES)


def strongest_guidance(model):
    """The runs a sample figure shows: 'unguided', and the strongest guidance applied at every noise level."""
    runs = MODELS[model]["runs"]
    everywhere = [r for r, v in runs.items() if v.get("guidance", 1.0) != 1.0
                  and "guidance_interval" not in v and "guidance_placement" not in v]
    return ["unguided"] + sorted(everywhere, key=lambda r: runs[r]["guidance"])[-1:]


def model_shards(wildcards):
    """Every shard of one run of one model."""
    return expand(
        "results/models/{model}/trajectories/{run}/shard-{shard}.npz",
        model=wildcards.model,
        run=wildcards.run,
        shard=range(MODELS[wildcards.model]["shards"]),
    )


def model_gmm_inputs(wildcards):
    """The mixture files behind a gmm-backend model (none for digits)."""
    spec = MODELS[wildcards.model]
    if spec["backend"] != "gmm":
        return {}
    return {
        "means": f"results/gmm/{spec['experiment']}/means.npy",
        "mixture": f"results/gmm/{spec['experiment']}/mixture.json",
    }


def model_references(model):
    """The exact curves a model is compared with: its reference, and for a gmm model the tracker run on the
    mixture's exact denoiser (which separates the network's error from the tracker's bias)."""
    if not trains(model):
        return []
    return [model_reference(model)] + (["exact-denoiser"] if MODELS[model]["backend"] == "gmm" else [])


def model_result_files(kind):
    """The `kind` CSV ("entropy": curves, "windows": fits) of every model's runs and references."""
    return [
        f"results/models/{model}/{kind}/{name}.csv"
        for model in MODELS
        for name in list(MODELS[model]["runs"]) + model_references(model)
    ]


def speciation_settings(wildcards):
    """Bootstrap size and seed of a window fit, from the track the curve belongs to."""
    if wildcards.track == "gmm":
        return dict(bootstrap=GMM["bootstrap"], seed=gmm_seed(wildcards.name))
    return dict(bootstrap=MODELS[wildcards.name]["bootstrap"], seed=model_seed(wildcards.name, "windows"))


def final_outputs():
    """Everything the target `all` builds: the figures and tables of every track in the config."""
    outputs = ["results/config.yaml", "results/tables/gmm_windows.csv", "results/tables/gmm_windows.md"]
    if MODELS:
        outputs += ["results/tables/models_windows.csv", "results/tables/models_windows.md",
                    "results/tables/models_quality.csv", "results/tables/models_quality.md"]
    for model, spec in MODELS.items():
        figures = ["entropy"] + (["guidance"] if len(spec["runs"]) > 1 else [])
        if spec["backend"] == "digits":
            figures += ["samples", "speciation"]
        if spec["backend"] in ("edm2", "sd15"):
            figures += ["images"]
        if "guidance_study" in spec:
            figures += ["guidance_study"]
            outputs += expand("results/tables/{model}_guidance_study.{ext}", model=model, ext=["csv", "md"])
        outputs += expand("results/figures/{model}_{figure}.{ext}", model=model, figure=figures, ext=["pdf", "png"])
        if len(spec["runs"]) > 1:
            outputs += expand("results/tables/{model}_guidance.{ext}", model=model, ext=["csv", "md"])
    if GMM["figures"]["estimators"]:
        outputs += expand("results/figures/gmm_estimators.{ext}", ext=["pdf", "png"])
    if GMM["figures"]["guidance"]:
        outputs += expand("results/figures/gmm_guidance.{ext}", ext=["pdf", "png"])
        outputs += ["results/tables/gmm_guidance.csv", "results/tables/gmm_guidance.md"]
    if GMM["tracker_bias"]["experiment"]:
        outputs += expand("results/figures/gmm_tracker_bias.{ext}", ext=["pdf", "png"])
        outputs += ["results/tables/gmm_tracker_bias.csv"]
    if GMM["figures"]["dimension_sweep"]:
        outputs += expand(
            "results/figures/{name}.{ext}",
            name=["gmm_vp_dimension_sweep", "gmm_ve_dimension_sweep", "gmm_relative_width"],
            ext=["pdf", "png"],
        )
    if "guidance_study" in GMM:
        outputs += expand("results/figures/gmm_guidance_study.{ext}", ext=["pdf", "png"])
        outputs += ["results/tables/gmm_guidance_study.csv", "results/tables/gmm_guidance_study.md"]
    if GMM["figures"]["hierarchy"]:
        outputs += expand("results/figures/gmm_hierarchy.{ext}", ext=["pdf", "png"])
    # Checked against peers (workflow/rules/peers.smk).
    if GMM["figures"]["clone_agreement"]:
        outputs += expand("results/{kind}/gmm_clone_agreement.{ext}", zip, kind=["figures"] * 2 + ["tables"] * 2,
                          ext=["pdf", "png", "csv", "md"])
    for model in [m for m, spec in MODELS.items() if "cloning" in spec]:
        outputs += expand("results/{kind}/{model}_clone_agreement.{ext}", zip, kind=["figures"] * 2 + ["tables"] * 2,
                          model=[model] * 4, ext=["pdf", "png", "csv", "md"])
    return outputs
