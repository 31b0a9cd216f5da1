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
