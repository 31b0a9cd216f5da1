"""Rule model_partitions: a model's partitions and the speciation scale (Lambda of the training data in play) of each."""

from pathlib import Path

import numpy as np

from entropic import empirical, io, trained
from entropic import partitions as P
from entropic.models import sd15

log = io.job_logger(snakemake.log[0])
spec = snakemake.params.data
if spec['backend'] == 'edm2':       # ImageNet: only the classes the file names are in play; Lambda unknown
    extra = P.read_partition_file(snakemake.input.file, 1000)
    num_classes, top_eigenvalue = 1000, None
    partitions = trained.built_in_partitions(trained.classes_in_play(extra))
elif spec['backend'] == 'sd15':     # every prompt is in play; Lambda unknown
    prompts, extra = sd15.read_prompt_file(snakemake.input.file)
    tokenizer = sd15.load_tokenizer(Path(snakemake.input.tokenizer[0]).parent)
    for warning in sd15.check_prompt_tokens(tokenizer, prompts, snakemake.input.file):   # ValueError: the same hypothesis
        log.warning(warning)
    num_classes, top_eigenvalue = len(prompts), None
    partitions = trained.built_in_partitions(num_classes)
else:
    x, labels, num_classes, mixture = trained.training_data(spec, snakemake.input, snakemake.params.seed)
    partitions = trained.built_in_partitions(num_classes)
    if spec['backend'] == 'digits':
        extra = P.read_partition_file(snakemake.input.file, num_classes)
    else:
        extra = {name: entry['cells'] for name, entry in io.read_json(snakemake.input.experiment).items()}
    if spec['backend'] == 'gmm':   # the mixture's own covariance (a sample covariance in d dims is biased upward)
        top_eigenvalue = lambda classes: mixture.restrict(classes).covariance_top_eigenvalue()
    else:                           # the training set is the data distribution the network learns
        top_eigenvalue = lambda classes: empirical.top_eigenvalue(x.numpy()[np.isin(labels.numpy(), classes)])
clash = sorted(name for name in set(extra) & set(partitions) if extra[name] != partitions[name])
if clash:
    raise ValueError(f'partitions {clash} redefine built-in partitions (classes, <k>-vs-reference) with other cells')
partitions.update(extra)
info = trained.partition_info(partitions, num_classes, top_eigenvalue)
for name, entry in info.items():
    scale = '' if entry['Lambda'] is None else f", Lambda={entry['Lambda']:.4g}, sigma_S={entry['sigma_S']:.4g}"
    log.info(f"{name}: {len(entry['cells'])} cells{scale}")
io.write_json(info, snakemake.output[0])
