"""The networks, as denoisers in EDM coordinates: mlp and training (the small network trained inside the DAG),
EDM2's (edm2_unet: the magnitude-preserving U-Net and its preconditioning; edm2_pickle: NVlabs' pickles read into
it without running them; edm2_denoiser: the conditional and unconditional networks as one denoiser; edm2_latents:
EDM2's latent scaling and decoding), the diffusers readers (diffusers_folder: index, scheduler, VAE, dtype;
text_encoders: prompt files and each pipeline's encoding; diffusers_denoiser: the denoiser of any diffusers
network; diffusers_pipeline: what a folder is and its denoiser loaded), imagenet (the ImageNet-1k class list),
and the feature networks of the image metrics (inception: FID's Inception-v3; dinov2: FD-DINOv2's DINOv2 ViT-L/14).
What the pipeline asks of a model family is its backend (entropic.backends)."""
