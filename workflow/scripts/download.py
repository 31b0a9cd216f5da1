"""Rules download_*: one EDM2 pickle over HTTP, or named files of a Hugging Face Hub repository."""

from entropic import download, io

log = io.job_logger(snakemake.log[0])
if 'url' in snakemake.params.keys():
    log.info(f'{snakemake.params.url} -> {snakemake.output[0]}')
    download.download_url(snakemake.params.url, snakemake.output[0])
else:
    log.info(f"{snakemake.params.repo}: {', '.join(snakemake.params.files)} -> {snakemake.params.folder}")
    download.download_hub(snakemake.params.repo, snakemake.params.folder, files=snakemake.params.files)
log.info('done')
