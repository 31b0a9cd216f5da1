"""Rule download: one file over HTTP, or one file of a Hugging Face Hub repository."""

from pathlib import Path

from entropic.files import download, hub, job_log

log = job_log.start(snakemake.log[0])
source, target = snakemake.params.source, snakemake.output[0]
if source.url:
    log.info(f'{source.url} -> {target}')
    download.download_url(source.url, target)
else:
    folder = Path(target).parents[len(Path(source.file).parts) - 1]     # the folder the repository's paths start in
    log.info(f'{source.repo}: {source.file}{" and its pipeline" if source.pipeline else ""} -> {folder}')
    if source.pipeline:
        hub.download_pipeline(source.repo, folder, index=source.file, revision=source.revision)
    else:
        hub.download_hub(source.repo, folder, files=[source.file], revision=source.revision)
log.info('done')
