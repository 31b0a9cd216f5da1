"""What Snakemake would record of every job of a config: its params, inputs and logs, as Snakemake itself writes them
to .snakemake/metadata when a job finishes and compares them on the next run to decide a rerun (test helper).

    python tests/support/recorded_params.py PLAN.json OUT.json

PLAN.json is {name: {"snakefile": path, "workdir": path, "configfiles": [path, ...]}}; OUT.json gets, for each
name, {job: {"params": [...], "input": [...], "log": [...]}} for every job of a dry run of the default target in
that working directory (nothing is run or written there), a job named `<rule>:<its first output>`, or
{"error": text} where Snakemake refused. The lists are Snakemake's own (Persistence `_params`, `_input`, `_log`:
what it stores and compares; snakemake 9), so a test compares what two configs or two places of the project
would record without running either. One process builds every DAG of the plan (imports paid once).
"""

import json
import sys
import traceback
from pathlib import Path

from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings, StorageSettings


def recorded(snakefile, workdir, configfiles):
    """{job: {"params", "input", "log"}} of every job of the default target (a dry run in this process)."""
    with SnakemakeApi(OutputSettings(quiet={'all'})) as api:
        workflow_api = api.workflow(resource_settings=ResourceSettings(cores=1), storage_settings=StorageSettings(),
                                    config_settings=ConfigSettings(configfiles=[Path(c) for c in configfiles]),
                                    snakefile=Path(snakefile), workdir=Path(workdir))
        workflow_api.dag(dag_settings=DAGSettings()).execute_workflow(executor='dryrun')
        workflow = workflow_api._workflow
        persistence = workflow.persistence
        return {f'{job.rule.name}:{min(job.output, default="")}': dict(
                    params=persistence._params(job), input=list(map(str, persistence._input(job))),
                    log=list(map(str, persistence._log(job))))
                for job in workflow.dag.jobs}


def main(plan_path, out_path):
    results = {}
    for name, entry in json.loads(Path(plan_path).read_text()).items():
        try:
            results[name] = recorded(entry['snakefile'], entry['workdir'], entry['configfiles'])
        except Exception:   # noqa: BLE001 - reported to the test, which names the plan entry
            results[name] = {'error': traceback.format_exc()[-3000:]}
    Path(out_path).write_text(json.dumps(results, indent=1, sort_keys=True))


if __name__ == '__main__':
    main(*sys.argv[1:])
