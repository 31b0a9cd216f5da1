# The entropic-speciation pipeline: every figure and table from one DAG (README.md).
# This file only loads and validates the config and includes the rule files.

from snakemake.utils import min_version

min_version("9.0")


# A config given with --configfile replaces config.yaml (keys it leaves out take the schema's defaults),
# so that a small config such as config/test.yaml runs only what it lists.
if not workflow.config_settings.configfiles:

    configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


wildcard_constraints:
    model=_one_of(MODELS),
    run=_one_of({run for spec in MODELS.values() for run in spec["runs"]}),


include: "workflow/rules/resources.smk"
include: "workflow/rules/gmm.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/trajectories.smk"
include: "workflow/rules/entropy.smk"
include: "workflow/rules/speciation.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/guidance_study.smk"
include: "workflow/rules/peers.smk"
include: "workflow/rules/schedules.smk"


# After every rule file: each registers the targets it makes (register, common.smk).
if TARGETS.paths() == [paths.effective_config()]:
    raise WorkflowError(
        "the config asks for nothing to build: give it `models:` entries or `gmm.experiments` "
        "(config.yaml is the default; every key: docs/configuration.md)"
    )


rule all:
    input:
        TARGETS.paths(),
    default_target: True
