"""Tiny diffusers pipelines built from configs with random weights and saved with `save_pretrained`, for the generic
diffusers backend's tests (never downloaded)."""

import yaml


def build_class_unet(folder, seed=0):
    """A class-conditional pixel-space DDPM as a researcher saves one: a UNet2DModel on 8 x 8 grey images with 11 class
    embeddings (classes 0..9, the last the null label of label dropout), epsilon prediction on linear betas, DDIM's
    leading spacing with steps_offset 1, in a DDIMPipeline folder. Returns the folder."""
    import diffusers
    import torch
    torch.manual_seed(seed)
    unet = diffusers.UNet2DModel(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 16),
                                 layers_per_block=1, down_block_types=('DownBlock2D', 'DownBlock2D'),
                                 up_block_types=('UpBlock2D', 'UpBlock2D'), norm_num_groups=4, num_class_embeds=11)
    scheduler = diffusers.DDIMScheduler(beta_schedule='linear', timestep_spacing='leading', steps_offset=1,
                                        clip_sample=False)
    diffusers.DDIMPipeline(unet=unet, scheduler=scheduler).save_pretrained(folder)
    return folder


def write_class_partitions(path):
    """Partitions of three of its classes: each against the others, and one pair against the third."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({'pair-vs-one': [[0, 3], [5]], 'three': [[0], [3], [5]]}))
    return path
