"""What the pipeline reads and writes: store (atomic writes, validated reads), curve_table (the entropy-curve
table every estimator writes), job_log (a job's log file), download (resumable, checked downloads of weights
and whole diffusers pipelines)."""
