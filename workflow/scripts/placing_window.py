"""Rule placing_window: the window fits and the curve of the one partition whose window places guidance elsewhere,
copied from its run's tables (entropic.files.curve_table.write_partition_rows)."""

from entropic.files import curve_table, job_log

log = job_log.start(snakemake.log[0])
partition = snakemake.wildcards.partition
for source, target in ((snakemake.input.windows, snakemake.output.windows), (snakemake.input.curve, snakemake.output.curve)):
    curve_table.write_partition_rows(source, partition, target)
    log.info(f'{source}: the rows of partition {partition} -> {target}')
