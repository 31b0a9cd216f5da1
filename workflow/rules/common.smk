# Config validation and the input functions shared by the rule files.

from snakemake.exceptions import WorkflowError

from entropic.configuration import derive_seed, validate_config

_config_errors = validate_config(config)
if _config_errors:
    raise WorkflowError("invalid config:\n  " + "\n  ".join(_config_errors))

GMM = config["gmm"]


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


def gmm_window_files(wildcards=None):
    """The window CSV of every experiment and estimator."""
    return [
        f"results/gmm/{e}/windows/{name}.csv"
        for e in GMM["experiments"]
        for name in gmm_estimators(e)
    ]


def final_outputs():
    """Everything `rule all` builds: the figures and tables of every track in the config."""
    outputs = ["results/tables/gmm_windows.csv", "results/tables/gmm_windows.md"]
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
    if GMM["figures"]["hierarchy"]:
        outputs += expand("results/figures/gmm_hierarchy.{ext}", ext=["pdf", "png"])
    return outputs
