# Speciation windows: peak, width, half-entropy point and 80% interval of every curve, with bootstrap CIs.
# One job per experiment (results/gmm/<experiment>/...) or model (results/models/<model>/...) fits all its
# curves; a curve whose window places guidance gets a job of its own (entropic.pipeline.targets.speciation_jobs). A
# job's outputs differ per experiment and model, so the rules are generated here, one per job, all named
# speciation_<track>_<name>[_<estimator>].

for _job in SPECIATION_JOBS:
    _track, _name, _estimators = _job.track, _job.name, _job.estimators

    rule:
        """Fit the window of every partition's curve in VP time, EDM sigma and log sigma."""
        name:
            _job.rule
        input:
            curves=[paths.curve(_track, _name, e) for e in _estimators],
            samples=[paths.curve(_track, _name, e, "npz") for e in _estimators],
            partitions=paths.partitions(_track, _name),
        output:
            [paths.windows(_track, _name, e) for e in _estimators],
        params:
            name=_name,
            estimators=_estimators,
            settings=speciation_settings(_track, _name),
        log:
            _job.log,
        threads: 1
        conda:
            "../../envs/entropic.yaml"
        script:
            "../scripts/speciation.py"


checkpoint placing_window:
    """The window fits and the curve of the one partition whose window places guidance elsewhere: a placed run, a
    guidance study, a schedule study. A checkpoint, so that Snakemake looks again at the jobs that read it once it
    has run: where its files came out with the same bytes (a partition added or changed elsewhere in the tables),
    those jobs do not run again (Snakemake compares the checksum of a small input newer than a job's outputs with
    the one it recorded)."""
    input:
        windows=paths.windows("{track}", "{name}", "{source}"),
        curve=paths.curve("{track}", "{name}", "{source}"),
    output:
        windows=paths.placing("{track}", "{name}", "{source}", "{partition}", "windows"),
        curve=paths.placing("{track}", "{name}", "{source}", "{partition}", "entropy"),
    wildcard_constraints:
        track="|".join(TRACK),
        name="[^/]+",
        source="[^/]+",
        partition="[^/]+",
    log:
        paths.log("placing_window", "{track}", "{name}", "{source}", "{partition}"),
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/placing_window.py"
