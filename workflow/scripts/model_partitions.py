"""Rule model_partitions: a model's partitions, and the speciation scale (Lambda of the data in play) of each."""

from pathlib import Path

from entropic import backends
from entropic.files import job_log, store
from entropic.pipeline import trajectories

log = job_log.start(snakemake.log[0])
backend = backends.get(snakemake.params.data['backend'])
labels = list(snakemake.params.hypotheses)
spec = snakemake.config['models'][snakemake.wildcards.model]     # the model's entry, defaults filled in
# the files of the pipeline (inputs) and the config's partition or prompt file, by its path in the project
# (common.smk, model_sources), which lies two folders above this script (workflow/scripts/)
project = Path(snakemake.scriptdir).resolve().parents[1]      # scriptdir may read workflow/rules/../scripts
files = dict(snakemake.input.items())
files.update({name: str(project / source['path']) for name, source in snakemake.params.sources.items()})
partitions = backend.all_partitions(spec, files, labels)
top_eigenvalue = None
if backend.trains:      # the data the network learns is known: Lambda of the part each partition acts on
    data = backend.training_data(snakemake.params.data, snakemake.input, snakemake.params.seed)
    top_eigenvalue = lambda classes: backend.top_eigenvalue(data, classes)
info = trajectories.partition_info(partitions, labels, top_eigenvalue)
for name, entry in info.items():
    scale = '' if entry['Lambda'] is None else f", Lambda={entry['Lambda']:.4g}, sigma_S={entry['sigma_S']:.4g}"
    log.info(f"{name}: {len(entry['cells'])} cells{scale}")
store.write_json(info, snakemake.output[0])
