# Config validation and the input functions shared by the rule files. What differs between model families
# is asked of their backend (entropic.backends); nothing here names one.

import hashlib
import os
import re

from snakemake.exceptions import WorkflowError

from entropic import backends
from entropic.files import paths
from entropic.pipeline import targets, tracks
from entropic.pipeline.configuration import derive_seed, validate_config
from entropic.pipeline.provenance import recorded, recorded_config
from entropic.backends.pretrained import DINOV2, INCEPTION
from entropic.method.runs import shown_runs

def _shown_path(path):
    """A path as a message shows it: relative to the working directory where it lies below it, else absolute."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


_config_errors = validate_config(config, root=workflow.basedir)
if _config_errors:
    # where it came from (--configfile, else config.yaml; --config or a profile's config on top), so the
    # message says where to look
    _sources = [_shown_path(path) for path in workflow.configfiles] + (["--config"] if workflow.config_settings.config else [])
    raise WorkflowError(f"invalid config (from {', '.join(_sources) or 'no config file'}):\n  " + "\n  ".join(_config_errors))
# Every mapping of the config keeps its order for the code but is recorded by Snakemake as one canonical text
# (keys sorted, numbers by value): a config with its keys in another order reruns nothing (entropic.pipeline.provenance).
# A parameter that builds a mapping of its own from the config passes it through `recorded` too.
recorded_config(config)

GMM = config["gmm"]
MODELS = config["models"]
# The two tracks, by their folder under results/ (the {track} wildcard): what the rules ask of an experiment or a
# model is asked of its track (entropic.pipeline.tracks); no rule compares a track's name.
TRACK = tracks.tracks(config, workflow.basedir)
MIXTURES, NETWORKS = TRACK[paths.GMM], TRACK[paths.MODELS]
BACKEND = NETWORKS.backend
RUNS = NETWORKS.runs
# The hypotheses in play of every model, {label: name}: what its sampling jobs condition on (read once).
HYPOTHESES = NETWORKS.hypotheses
# The estimator names of the exact reference curves of models.
REFERENCES = {backend.reference for backend in backends.registry().values() if backend.reference}
# Every file the download job can fetch, {path: entropic.backends.Download}.
DOWNLOADS = {path: source for model, spec in MODELS.items() for path, source in BACKEND[model].downloads(spec).items()}


def _one_of(names):
    """A wildcard regex matching exactly these names (none: matches nothing)."""
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) or "(?!)"


def gmm_seed(experiment, *keys):
    """The experiment's own seed, or the track's; with `keys`, the seed of that purpose derived from it."""
    return MIXTURES.seed(experiment, *keys) if keys else MIXTURES.base_seed(experiment)


def gmm_estimators(experiment):
    """The estimators whose curves an experiment gets: exact, every tracker variant it is listed for, immse."""
    return MIXTURES.curves(experiment)


def gmm_result_files(kind):
    """The `kind` CSV ("entropy": curves, "windows": fits) of every experiment and estimator."""
    path = {"entropy": paths.curve, "windows": paths.windows}[kind]
    return [path(paths.GMM, e, name) for e in GMM["experiments"] for name in gmm_estimators(e)]


def model_seed(model, *keys):
    """A seed for one purpose of one model, derived from its config seed."""
    return NETWORKS.seed(model, *keys)


def model_data(model):
    """The model keys its training data depend on (what the data-dependent rules depend on), with its backend."""
    return NETWORKS.data(model)


def model_loading(model):
    """The model keys its sampling jobs load it with, with its backend."""
    return NETWORKS.loading(model)


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


def placing_files(track, name, source, partition):
    """{'windows', 'curve'}: the window fits and the curve of one partition of the run (or estimator) `source`,
    whose window places guidance elsewhere, copied by the checkpoint placing_window. Where they exist, asking the
    checkpoint has Snakemake look again at the job that reads them once they are rewritten: a partition added
    elsewhere in the tables leaves their bytes, so the job (GPU sampling on a pretrained model) is not run again.
    Where they do not (a first run, a placement by another partition), they are plain inputs: Snakemake skips a
    job's parameter and input checks while it waits on a checkpoint, and would take a finished job whose
    placement changed for up to date."""
    files = {"windows": paths.placing(track, name, source, partition, "windows"),
             "curve": paths.placing(track, name, source, partition, "entropy")}
    if all(os.path.exists(path) for path in files.values()):
        checkpoints.placing_window.get(track=track, name=name, source=source, partition=partition)
    return files


def model_network(wildcards):
    """What one run samples from: the network files of its backend, and for a run whose guidance another
    run's window places, that run's window fits and entropy curve of the placing partition."""
    inputs = network_files(wildcards.model, wildcards.run)
    run = RUNS[wildcards.model][wildcards.run]
    if run.source:
        inputs.update(placing_files(paths.MODELS, wildcards.model, run.source, run.placement.get("partition", "classes")))
    return inputs


def network_files(model, run):
    """The network files of one run of a model (its backend's)."""
    return NETWORKS.network_files(model, run)


def study_source(track, name):
    """The window fits and the entropy curve whose window places a study's guidance (`track` a folder,
    entropic.files.paths.GMM or MODELS)."""
    source = TRACK[track].study_source(name)
    return paths.windows(track, name, source), paths.curve(track, name, source)


def study_inputs(wildcards):
    """A guidance study's sampling inputs: what its track samples from (a network, a mixture), and for the
    evaluation set the source window and curve of the study's partition (study_placing) and the tuning metrics
    (the limited interval is chosen there)."""
    inputs = dict(TRACK[wildcards.track].study_network(wildcards.name))
    if wildcards.set == "evaluation":   # the tuning set needs neither: it runs as soon as the network exists
        inputs.update(study_placing(wildcards.track, wildcards.name))
        inputs["tuning"] = paths.study(wildcards.track, wildcards.name, "tuning", "csv")
    return inputs


def study_placing(track, name):
    """placing_files of a guidance study: the window and curve of its source's study partition."""
    return placing_files(track, name, TRACK[track].study_source(name), TRACK[track].study(name)["partition"])


def study_metric_inputs(wildcards):
    """What a guidance study's metrics read beside its samples (its track's files: statistics, feature networks).
    For the evaluation set, it also asks the checkpoint placing_window of the study's sampling, reading nothing from
    it: Snakemake then looks at this job again once the checkpoint has run, and does not measure again samples that
    were not drawn again."""
    if wildcards.set == "evaluation":
        study_placing(wildcards.track, wildcards.name)
    return TRACK[wildcards.track].study_files(wildcards.name)


def study_results(track, name):
    """The inputs of a study's figure: both sets' metrics and the window and curve that placed the guidance."""
    windows, curve = study_source(track, name)
    return {"evaluation": paths.study(track, name, "evaluation", "csv"), "tuning": paths.study(track, name, "tuning", "csv"),
            "windows": windows, "curve": curve}


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
    return [paths.shard(model, run, shard) for shard in range(MODELS[model]["shards"])]


def model_references(model):
    """The exact curves a model is compared with: its reference, and the tracker run with the exact denoiser of
    its data (which separates the network's error from the tracker's bias) where its backend has one."""
    return NETWORKS.references(model)


def model_result_files(kind):
    """The `kind` CSV ("entropy": curves, "windows": fits) of every model's runs and references."""
    path = {"entropy": paths.curve, "windows": paths.windows}[kind]
    return [path(paths.MODELS, model, name) for model in MODELS for name in list(MODELS[model]["runs"]) + model_references(model)]


def speciation_settings(track, name):
    """Bootstrap size and seed of a window fit, from the track the curve belongs to."""
    return TRACK[track].window_settings(name)


def speciation_subjects():
    """[(track, name, curves, placing curves)] of every experiment and model: what its window fits fit
    (entropic.pipeline.targets.speciation_jobs)."""
    return [(track.folder, name, track.curves(name), track.placing(name)) for track in TRACK.values() for name in track.names()]


# The window-fit jobs (workflow/rules/speciation.smk generates one rule each).
SPECIATION_JOBS = targets.speciation_jobs(speciation_subjects())

# What `all` builds: every rule file registers, beside a rule, the outputs the config asks for (register).
TARGETS = targets.Targets()


def register(rule, when=True, what=None):
    """Register the outputs of `rule` (rules.<name>, after its definition) as targets of `all`: `when` says whether
    the config asks for them (True or False), or for a rule with a wildcard ({model}) the names it asks for them
    with; `what` what they show, a row of the catalogue of docs/results.md, or {stem: text} for a rule of several
    figures or tables (entropic.pipeline.targets.Targets.add)."""
    TARGETS.add(rule.rule.name, [str(output) for output in rule.output], when, what)


def models_with_figure(figure):
    """The models whose backend can feed `figure` (Backend.figures: 'samples', 'speciation', 'images')."""
    return [model for model in MODELS if figure in BACKEND[model].figures]


# The experiments of the gmm schedule study (none without `gmm.schedule_study`).
SCHEDULE_EXPERIMENTS = GMM.get("schedule_study", {}).get("experiments", [])


def model_schedule_inputs(wildcards):
    """A model's schedule study reads the network of its source run, that run's curve, what its metrics read
    (Backend.schedule_files) and the x0 of its measured mmse (Backend.schedule_x0): the data files of its training
    data, or the source run's shards, whose unconditional final samples stand in for data."""
    model, spec = wildcards.model, MODELS[wildcards.model]
    backend, source = BACKEND[model], spec["schedule_study"]["source"]
    inputs = {
        **network_files(model, source),
        "curve": placing_files(paths.MODELS, model, source, "classes")["curve"],    # the semantic grids' partition
        **backend.schedule_files(spec, config),
    }
    if backend.schedule_x0 == "samples":
        inputs["samples"] = run_shards(model, source)
    else:
        inputs.update(model_data_files(wildcards))
    return inputs
