"""The networks, as denoisers in EDM coordinates: mlp and training (the small network trained inside the DAG),
edm2_unet (EDM2's magnitude-preserving U-Net, read from NVlabs' pickles without running them), the diffusers
readers (diffusers_folder: index, scheduler, VAE, dtype; text_encoders: prompt files and each pipeline's
encoding; diffusers_denoiser: the denoiser of any diffusers network; diffusers_pipeline: what a folder is and
its denoiser loaded), imagenet (the ImageNet-1k class list). What the pipeline asks of a model family is its
backend (entropic.backends)."""
