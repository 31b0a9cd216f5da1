"""Rule effective_config: write the validated config, with every schema default filled in."""

import yaml

from entropic.files import job_log, store

log = job_log.start(snakemake.log[0])
with store.atomic_path(snakemake.output[0]) as tmp:
    tmp.write_text(yaml.safe_dump(dict(snakemake.params.config), sort_keys=False))
log.info(f'sections: {", ".join(snakemake.params.config)}')
