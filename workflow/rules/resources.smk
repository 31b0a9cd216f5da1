# Pretrained weights, downloaded once into resources/ (skipped when present; an interrupted download resumes).
# On a machine without network access, place the files there by hand: the rules then do nothing.

rule download_edm2:
    """An EDM2 network pickle (NVlabs' post-hoc EMA reconstructions), resumable, with a progress bar."""
    output:
        "resources/edm2/{pickle}",
    wildcard_constraints:
        pickle=download.EDM2_NAME.pattern,
    params:
        url=lambda wc: download.edm2_url(wc.pickle),
    log:
        "results/logs/download_edm2/{pickle}.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/download.py"


rule download_sd_vae:
    """The Stable Diffusion VAE (stabilityai/sd-vae-ft-mse) that decodes EDM2's ImageNet-512 latents."""
    output:
        expand("resources/sd-vae-ft-mse/{file}", file=download.SD_VAE_FILES),
    params:
        repo=download.SD_VAE_REPO,
        files=download.SD_VAE_FILES,
        folder=lambda wc, output: os.path.dirname(output[0]),
    log:
        "results/logs/download_sd_vae.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/download.py"


rule download_sd15:
    """Stable Diffusion 1.5 (stable-diffusion-v1-5/stable-diffusion-v1-5): the files a pipeline without safety checker reads."""
    output:
        sd15_files(),
    params:
        repo=download.SD15_REPO,
        files=download.SD15_FILES,
        folder=lambda wc, output: os.path.dirname(output[0]),
    log:
        "results/logs/download_sd15.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/download.py"


rule download_fid_inception:
    """FID's Inception-v3 weights (the TensorFlow graph of 2015-12-05 as pytorch-fid ported it)."""
    output:
        f"resources/fid/{download.INCEPTION_FILE}",
    params:
        url=download.INCEPTION_URL,
    log:
        "results/logs/download_fid_inception.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/download.py"


rule download_dinov2:
    """DINOv2 ViT-L/14 (facebook/dinov2-large), the feature network of FD-DINOv2."""
    output:
        expand("resources/dinov2-large/{file}", file=download.DINOV2_FILES),
    params:
        repo=download.DINOV2_REPO,
        files=download.DINOV2_FILES,
        folder=lambda wc, output: os.path.dirname(output[0]),
    log:
        "results/logs/download_dinov2.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/download.py"


rule download_reference:
    """NVlabs' FID and FD-DINOv2 statistics of an EDM2 training set (img512: ImageNet at 512 x 512)."""
    output:
        "resources/dataset-refs/{name}",
    wildcard_constraints:
        name=download.EDM2_REFERENCE_NAME.pattern,
    params:
        url=lambda wc: download.EDM2_REFERENCE_ROOT + wc.name,
    log:
        "results/logs/download_reference/{name}.log",
    threads: 1
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/download.py"


rule reference_statistics:
    """FID and FD-DINOv2 statistics of the real images (PNG or JPEG) placed in resources/reference/<name>/."""
    input:
        images="resources/reference/{name}",
        inception=f"resources/fid/{download.INCEPTION_FILE}",
        dinov2=expand("resources/dinov2-large/{file}", file=download.DINOV2_FILES),
    output:
        "resources/reference/{name}.npz",
    params:
        batch=32,
    log:
        "results/logs/reference_statistics/{name}.log",
    threads: 1
    resources:
        gpu=1,
    conda:
        "../../envs/entropic.yaml"
    script:
        "../scripts/reference_statistics.py"
