"""What the pipeline reads and writes: paths (every results/ path, spelled once), store (atomic writes, validated reads), curve_table (the entropy-curve
table every estimator writes), job_log (a job's log file), download (the published files, resumable checked
downloads of URLs, the checks of a file in place), hub (Hugging Face Hub files and whole diffusers pipelines,
checked as download checks a file)."""
