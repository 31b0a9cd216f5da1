# Pretrained weights, downloaded once into resources/ (skipped when present; an interrupted download resumes).
# On a machine without network access, place the files there by hand: the rules then do nothing.

rule download:
    """One file a model or a metric needs, fetched into resources/ from where its backend says it comes from
    (entropic.backends): an HTTP file (resumable, with a progress bar) or a file of a Hugging Face Hub repository."""
    output:
        "{path}",
    wildcard_constraints:
        path=_one_of(DOWNLOADS),
    params:
        source=lambda wc: DOWNLOADS[wc.path],
    log:
        paths.log("download", "{path}"),
    localrule: True   # a cluster's compute nodes may have no network
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/download.py"


rule reference_statistics:
    """FID and FD-DINOv2 statistics of the real images (PNG or JPEG) placed in resources/reference/<name>/."""
    input:
        images="resources/reference/{name}",
        inception=INCEPTION,
        dinov2=DINOV2,
    output:
        "resources/reference/{name}.npz",
    params:
        batch=32,
    log:
        paths.log("reference_statistics", "{name}"),
    threads: 1
    resources:
        gpu=1,
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/reference_statistics.py"
