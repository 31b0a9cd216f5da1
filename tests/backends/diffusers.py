"""Tiny diffusers pipelines saved with save_pretrained (tests/support/diffusers_tiny.py), each run by a config entry of
`backend: diffusers` with a checkpoint folder and a partitions file alone: the class-conditional pixel-space DDPM
(the example), and the architectures of VARIANTS, which the contract suite also runs (example(folder, variant))."""

from tests.support.diffusers_tiny import ARCHITECTURES, write_class_partitions, write_prompt_file

# The architectures the contract suite runs besides the class-conditional UNet (the presets' own examples cover
# SD1.5, SD2.1, DiT and SD3): SDXL's two encoders and added conditions, PixArt's T5 and learned variance.
VARIANTS = ('sdxl', 'pixart')


def example(folder, variant='class-unet'):
    ARCHITECTURES[variant](folder / 'models' / f'tiny-{variant}')
    if variant == 'class-unet':
        partitions = write_class_partitions(folder / 'config' / 'partitions' / 'tiny-ddpm.yaml')
    else:
        partitions = write_prompt_file(folder / 'config' / 'prompts' / 'tiny.yaml')
    return {'models': {'m': {'backend': 'diffusers', 'checkpoint': f'models/tiny-{variant}',
                             'partitions': str(partitions.relative_to(folder)), 'sampler': {'steps': 6}, 'batch': 8}}}
