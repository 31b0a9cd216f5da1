# Config validation and the input functions shared by the rule files. What differs between model families
# is asked of their backend (entropic.backends); nothing here names one.

import hashlib
import os
import re

from snakemake.exceptions import WorkflowError

from entropic import backends
from entropic.pipeline.configuration import derive_seed, validate_config
from entropic.pipeline.provenance import recorded, recorded_config
from entropic.backends.pretrained import DINOV2, INCEPTION
from entropic.method.runs import model_runs, shown_runs

_config_errors = validate_config(config, root=workflow.basedir)
if _config_errors:
    raise WorkflowError("invalid config:\n  " + "\n  ".join(_config_errors))
# Every mapping of the config keeps its order for the code but is recorded by Snakemake as one canonical text
# (keys sorted, numbers by value): a config with its keys in another order reruns nothing (entropic.pipeline.provenance).
# A parameter that builds a mapping of its own from the config passes it through `recorded` too.
recorded_config(config)

GMM = config["gmm"]
MODELS = config["models"]
BACKEND = {model: backends.get(spec["backend"]) for model, spec in MODELS.items()}
RUNS = {model: model_runs(spec) for model, spec in MODELS.items()}
# The hypotheses in play of every model, {label: name}: what its sampling jobs condition on (read once).
HYPOTHESES = {model: recorded(BACKEND[model].hypotheses(spec, config, workflow.basedir))
              for model, spec in MODELS.items()}
# The estimator names of the exact reference curves of models.
REFERENCES = {backend.reference for backend in backends.registry().values() if backend.reference}
# Every file the download job can fetch, {path: entropic.backends.Download}.
DOWNLOADS = {path: source for model, spec in MODELS.items() for path, source in BACKEND[model].downloads(spec).items()}


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
    """The model keys its training data depend on (what the data-dependent rules depend on), with its backend."""
    spec = MODELS[model]
    return recorded({"backend": spec["backend"], **{k: spec[k] for k in BACKEND[model].data_keys}})


def model_loading(model):
    """The model keys its sampling jobs load it with, with its backend."""
    spec = MODELS[model]
    return recorded({"backend": spec["backend"], **{k: spec[k] for k in BACKEND[model].load_keys}})


def model_sampling(model, run):
    """What one run's trajectories depend on: the sampler, the number of trajectories, shards, snapshots, and
    whether they keep what the combined readout needs."""
    spec = MODELS[model]
    return recorded(dict(
        sampler=spec["sampler"],
        trajectories=RUNS[model][run].trajectories or spec["trajectories"],
        shards=spec["shards"],
        snapshots=spec["snapshots"],
        # the combined readout of an unguided run needs the distances between the hypotheses' x0 estimates
        keep_distances=spec["estimate"] == "combined" and not RUNS[model][run].guided,
    ))


def model_reference(model):
    """The estimator name of a model's exact reference curve, or None (a pretrained model)."""
    return BACKEND[model].reference


def trains(model):
    """Whether the model is a network trained inside the DAG rather than downloaded."""
    return BACKEND[model].trains


def gpu(model):
    """The GPU resource of a model's sampling, decoding and metric jobs (profiles/slurm)."""
    return int(BACKEND[model].gpu)


def model_data_files(wildcards):
    """The files a model's training data and exact reference are built from (a gmm model's mixture)."""
    return BACKEND[wildcards.model].data_files(MODELS[wildcards.model], config)


def model_partition_files(wildcards):
    """The files of the pipeline a model's partitions are read from (its experiment's partitions, a tokenizer):
    the inputs of rule model_partitions. Its partition or prompt file is not one (model_sources)."""
    files = BACKEND[wildcards.model].partition_files(MODELS[wildcards.model], config, workflow.basedir)
    return {name: path for name, path in files.items() if not _is_source(path)}


def _is_source(path):
    """Whether a path of Backend.partition_files is a file of the config (a partition or prompt file), which a
    backend resolves against the project root (an absolute path), rather than one of the working directory."""
    return isinstance(path, str) and os.path.isabs(path)


def model_sources(model):
    """The config's files a model's partitions are read from (its partition or prompt file), recorded by what
    they hold and where they lie in the project, not by an absolute path: {name: {"path": the path relative
    to the project root (absolute where it lies outside), "sha256": its digest}}. An edit of one reruns rule
    model_partitions; the project moved, copied or cloned elsewhere does not. The job finds the file from its
    script's folder (workflow/scripts/ of the project)."""
    files = BACKEND[model].partition_files(MODELS[model], config, workflow.basedir)
    sources = {}
    root = os.path.realpath(workflow.basedir)
    for name, path in files.items():
        if _is_source(path):
            real = os.path.realpath(path)
            with open(real, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            inside = os.path.commonpath([real, root]) == root
            sources[name] = {"path": os.path.relpath(real, root) if inside else path, "sha256": digest}
    return recorded(sources)


def model_network(wildcards):
    """What one run samples from: the network files of its backend, and for a run whose guidance another
    run's window places, that run's window fits and entropy curve."""
    inputs = network_files(wildcards.model, wildcards.run)
    source = RUNS[wildcards.model][wildcards.run].source
    if source:
        inputs["windows"] = f"results/models/{wildcards.model}/windows/{source}.csv"
        inputs["curve"] = f"results/models/{wildcards.model}/entropy/{source}.csv"
    return inputs


def network_files(model, run):
    """The network files of one run of a model (its backend's)."""
    return BACKEND[model].network_files(model, MODELS[model], run)


# The sampler of the gmm track's guidance study: the paper's EDM grid.
STUDY_SAMPLER = recorded({"steps": 64, "sigma_min": 0.002, "sigma_max": 80.0, "rho": 7.0})


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
    """What a study's samples are measured against: the mixture of the gmm track, or what the model's backend
    measures them with (a mixture, nothing for the bundled digits, a decoder with feature networks and
    reference statistics)."""
    if wildcards.track == "gmm":
        return {"means": f"results/gmm/{wildcards.name}/means.npy", "mixture": f"results/gmm/{wildcards.name}/mixture.json"}
    return BACKEND[wildcards.name].study_files(MODELS[wildcards.name], config)


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
    """The metric the limited-interval grid search minimises: the exact KL on the gmm track's mixture, else
    the model backend's own (study_metric)."""
    track, name = track or wildcards.track, name or wildcards.name
    return "kl" if track == "gmm" else BACKEND[name].study_metric


def decoder_files(model):
    """The decoder that turns a model's samples into images (its backend's)."""
    return BACKEND[model].decoder_files(MODELS[model])


def shown(model):
    """The runs a sample figure shows: 'unguided', and the strongest guidance applied at every noise level."""
    return shown_runs(RUNS[model])


def model_shards(wildcards):
    """Every shard of one run of one model."""
    return run_shards(wildcards.model, wildcards.run)


def run_shards(model, run):
    """Every shard of run `run` of `model`."""
    return [f"results/models/{model}/trajectories/{run}/shard-{shard}.npz" for shard in range(MODELS[model]["shards"])]


def model_references(model):
    """The exact curves a model is compared with: its reference, and the tracker run with the exact denoiser of
    its data (which separates the network's error from the tracker's bias) where its backend has one."""
    backend = BACKEND[model]
    return ([backend.reference] if backend.reference else []) + (["exact-denoiser"] if backend.exact_tracker else [])


def model_result_files(kind):
    """The `kind` CSV ("entropy": curves, "windows": fits) of every model's runs and references."""
    return [
        f"results/models/{model}/{kind}/{name}.csv"
        for model in MODELS
        for name in list(MODELS[model]["runs"]) + model_references(model)
    ]


def speciation_settings(track, name):
    """Bootstrap size and seed of a window fit, from the track the curve belongs to."""
    if track == "gmm":
        return recorded(dict(bootstrap=GMM["bootstrap"], seed=gmm_seed(name)))
    return recorded(dict(bootstrap=MODELS[name]["bootstrap"], seed=model_seed(name, "windows")))


def placing_curves(track, name):
    """The curves of an experiment or model whose windows place guidance elsewhere: a placed run's source and a
    guidance study's (its exact curve for the gmm track's study)."""
    if track == "gmm":
        return {"exact"} if GMM.get("guidance_study", {}).get("experiment") == name else set()
    spec = MODELS[name]
    placing = {run.source for run in RUNS[name].values() if run.source}
    return placing | ({spec["guidance_study"]["source"]} if "guidance_study" in spec else set())


def speciation_jobs():
    """The window-fit jobs, [(name of its rule, track, name, estimators, log)], one per experiment or model with
    every curve it has, except that a curve whose window places guidance (placing_curves) is fit in a job of its own, as
    soon as that curve exists: a placed run samples after its source's window, so one job with both would be a
    cycle, and a guidance study need not wait for the other runs. Rule names are speciation_<track>_<name>[_<estimator>]
    with every non-word character as '_' (a clash gets a numeric suffix)."""
    groups = []
    for experiment in GMM["experiments"]:
        groups.append(("gmm", experiment, gmm_estimators(experiment)))
    for model in MODELS:
        groups.append(("models", model, list(MODELS[model]["runs"]) + model_references(model)))
    jobs, used = [], set()
    for track, name, estimators in groups:
        placing = placing_curves(track, name)
        estimators = sorted(estimators)     # a job's curves are fit each as if alone: their order means nothing
        split = [[e] for e in estimators if e in placing] + [[e for e in estimators if e not in placing]]
        for part in filter(None, split):
            words = [track, name] + (part if part[0] in placing else [])
            rule_name = re.sub(r"\W", "_", "_".join(["speciation"] + words))
            rule_name = rule_name if rule_name not in used else f"{rule_name}_{len(used)}"
            used.add(rule_name)
            jobs.append((rule_name, track, name, part, f"results/logs/speciation/{'-'.join(words)}.log"))
    return jobs


def _figure(name):
    """The PDF and PNG of one figure."""
    return [f"results/figures/{name}.{ext}" for ext in ("pdf", "png")]


def _table(name):
    """The CSV and Markdown of one table."""
    return [f"results/tables/{name}.{ext}" for ext in ("csv", "md")]


def gmm_targets():
    """The Gaussian-mixture theory track's figures and tables: each only where the config's `gmm` section asks
    for it (none without experiments, but the flow-shift study, which needs none)."""
    figures = GMM["figures"]
    outputs = []
    if GMM["experiments"]:
        outputs += _table("gmm_windows")
    if figures["estimators"]:
        outputs += _figure("gmm_estimators")
    if figures["guidance"]:
        outputs += _figure("gmm_guidance") + _table("gmm_guidance")
    if GMM["tracker_bias"]["experiment"]:
        outputs += _figure("gmm_tracker_bias") + ["results/tables/gmm_tracker_bias.csv"]
    if figures["dimension_sweep"]:
        for name in ["gmm_vp_dimension_sweep", "gmm_ve_dimension_sweep", "gmm_flow_dimension_sweep", "gmm_relative_width"]:
            outputs += _figure(name)
    if "flow_shift" in GMM:
        outputs += _figure("gmm_flow_shift") + _table("gmm_flow_shift")
    if figures["hierarchy"]:
        outputs += _figure("gmm_hierarchy")
    return outputs


def model_figures(model):
    """The figures one model gets: its entropy curves, the runs compared where it has guided runs, and the
    figures its backend can feed (Backend.figures)."""
    spec = MODELS[model]
    return ["entropy"] + (["guidance"] if len(spec["runs"]) > 1 else []) + list(BACKEND[model].figures)


def model_targets():
    """Every model's figures and tables (none without `models:` entries)."""
    if not MODELS:
        return []
    outputs = _table("models_windows") + _table("models_quality")
    for model, spec in MODELS.items():
        outputs += [path for figure in model_figures(model) for path in _figure(f"{model}_{figure}")]
        if len(spec["runs"]) > 1:
            outputs += _table(f"{model}_guidance")
    return outputs


def study_targets():
    """The guidance studies' figures and tables: a model's where its entry has `guidance_study`, the mixture's
    where `gmm.guidance_study` is set."""
    names = [name for name, spec in MODELS.items() if "guidance_study" in spec]
    names += ["gmm"] if "guidance_study" in GMM else []
    return [path for name in names for path in _figure(f"{name}_guidance_study") + _table(f"{name}_guidance_study")]


def peer_targets():
    """The comparisons with peers' published measurements (workflow/rules/peers.smk): Biroli et al.'s clone
    agreement on the mixtures `gmm.figures.clone_agreement` names and on every model with `cloning`."""
    names = ["gmm"] if GMM["figures"]["clone_agreement"] else []
    names += [model for model, spec in MODELS.items() if "cloning" in spec]
    return [path for name in names for path in _figure(f"{name}_clone_agreement") + _table(f"{name}_clone_agreement")]


# The experiments of the gmm schedule study (none without `gmm.schedule_study`).
SCHEDULE_EXPERIMENTS = GMM.get("schedule_study", {}).get("experiments", [])


def schedule_targets():
    """The schedule studies' figures and tables: the mixtures' where the config has `gmm.schedule_study`, a
    model's where its entry has `schedule_study` (none otherwise)."""
    names = ["gmm"] if "schedule_study" in GMM else []
    names += [model for model, spec in MODELS.items() if "schedule_study" in spec]
    return [path for name in names for path in _figure(f"{name}_schedules") + _table(f"{name}_schedules")]


def model_schedule_inputs(wildcards):
    """A model's schedule study reads the network of its source run, that run's curve, what its metrics read
    (Backend.schedule_files) and the x0 of its measured mmse (Backend.schedule_x0): the data files of its training
    data, or the source run's shards, whose unconditional final samples stand in for data."""
    model, spec = wildcards.model, MODELS[wildcards.model]
    backend, source = BACKEND[model], spec["schedule_study"]["source"]
    inputs = {
        **network_files(model, source),
        "curve": f"results/models/{model}/entropy/{source}.csv",
        **backend.schedule_files(spec, config),
    }
    if backend.schedule_x0 == "samples":
        inputs["samples"] = run_shards(model, source)
    else:
        inputs.update(model_data_files(wildcards))
    return inputs


def final_outputs():
    """Everything the target `all` builds: the effective config, and what each part of the pipeline contributes
    for what the config has (the theory track, the models, the guidance studies, the peers' comparison, the
    schedule studies). The Snakefile checks that it asks for something."""
    outputs = gmm_targets() + model_targets() + study_targets() + peer_targets() + schedule_targets()
    return ["results/config.yaml"] + outputs
