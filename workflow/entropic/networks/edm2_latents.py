"""EDM2's latent codec (NVlabs/edm2 training/encoders.py): the VAE of Stable Diffusion
(stabilityai/sd-vae-ft-mse, loaded by entropic.networks.diffusers_folder.load_vae) with EDM2's own per-channel
affine scaling of its latents to std 0.5 (not SD's 0.18215); pixels in [0, 1] on the VAE side.
"""

import numpy as np
import torch

from entropic.networks.edm2_pickle import PersistentRecord, read_pickle

#----------------------------------------------------------------------------

RAW_MEAN = np.array([5.81, 3.25, 0.12, -2.15], dtype=np.float32)   # of the raw VAE latents (ImageNet-512)
RAW_STD = np.array([4.17, 4.62, 3.71, 3.28], dtype=np.float32)
LATENT_SCALE = np.float32(0.5) / RAW_STD                           # raw -> EDM2 latents: x * scale + bias
LATENT_BIAS = -RAW_MEAN * LATENT_SCALE

def latent_affine(path):
    """(scale, bias) of a pickle's encoder: the recorded ones, which must equal EDM2's published ones."""
    encoder = read_pickle(path).get('encoder')
    if not isinstance(encoder, PersistentRecord) or encoder.class_name != 'StabilityVAEEncoder':
        raise ValueError(f'{path}: its encoder is not the Stability VAE of the latent models')
    scale, bias = (np.asarray(encoder.state[k], dtype=np.float32) for k in ('scale', 'bias'))
    if not (np.allclose(scale, LATENT_SCALE, rtol=1e-6) and np.allclose(bias, LATENT_BIAS, rtol=1e-6, atol=1e-7)):
        raise ValueError(f'{path}: encoder scale {scale} / bias {bias} differ from the EDM2 latent scaling')
    return scale, bias

def decode(vae, latents, batch_size=8):
    """EDM2 latents [B, 4, R, R] -> images [B, 8R, 8R, 3] float32 in [0, 1] (EDM2 feeds the VAE pixels in [0, 1])."""
    scale = torch.as_tensor(LATENT_SCALE).reshape(1, -1, 1, 1)
    bias = torch.as_tensor(LATENT_BIAS).reshape(1, -1, 1, 1)
    param = next(vae.parameters())
    images = []
    with torch.no_grad():
        for batch in torch.as_tensor(latents, dtype=torch.float32).split(batch_size):
            raw = (batch - bias) / scale
            images.append(vae.decode(raw.to(param)).sample.float().clamp(0, 1).cpu())
    return torch.cat(images).permute(0, 2, 3, 1).numpy()
