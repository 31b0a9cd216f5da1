"""FD-DINOv2's feature network (Stein et al. 2023): the 1024-d class token of DINOv2 ViT-L/14 after its final
layer norm, as EDM2 computes it (entropic.studies.image_metrics computes FD-DINOv2 from it).

Images are resized bicubically with antialiasing to 224 x 224 and normalised as ImageNet's. We run the
transformers port (`facebook/dinov2-large`) with the position embeddings interpolated to the 16 x 16 patch grid
as torch.hub's DINOv2 does (a scale factor of (16 + 0.1) / 37, no antialiasing), not as transformers does (an
output size), so that the features are those of EDM2's reference statistics.
"""

import types

import torch
import torch.nn.functional as F
from torch import nn

from entropic.files.download import DINOV2_REPO

#----------------------------------------------------------------------------
# DINOv2 ViT-L/14 (transformers), features as EDM2 computes them.

def _hub_position_embeddings(self, embeddings, height, width):
    """DINOv2's own interpolation of its position embeddings to a new patch grid (torch.hub model)."""
    grid = round((self.position_embeddings.shape[1] - 1) ** 0.5)
    new_h, new_w = height // self.patch_size, width // self.patch_size
    if new_h == grid and new_w == grid:
        return self.position_embeddings
    patches = self.position_embeddings[:, 1:].float().reshape(1, grid, grid, -1).permute(0, 3, 1, 2)
    patches = F.interpolate(patches, scale_factor=((new_h + 0.1) / grid, (new_w + 0.1) / grid), mode='bicubic')
    patches = patches.permute(0, 2, 3, 1).reshape(1, new_h * new_w, -1).to(self.position_embeddings.dtype)
    return torch.cat([self.position_embeddings[:, :1], patches], dim=1)

class DINOv2Features(nn.Module):
    """uint8 images [N, 3, H, W] -> DINOv2 class tokens [N, 1024] after the final layer norm."""

    MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

    def __init__(self, model):
        super().__init__()
        self.model = model
        embeddings = model.embeddings
        embeddings.interpolate_pos_encoding = types.MethodType(_hub_position_embeddings, embeddings)

    def forward(self, images):
        x = F.interpolate(images.float(), size=(224, 224), mode='bicubic', antialias=True) / 255
        x = (x - x.new_tensor(self.MEAN).reshape(1, 3, 1, 1)) / x.new_tensor(self.STD).reshape(1, 3, 1, 1)
        return self.model(pixel_values=x).pooler_output

def load_dinov2(folder, device='cpu'):
    """DINOv2Features from a local folder (config.json + model.safetensors), no hub access."""
    from transformers import Dinov2Model
    try:
        model = Dinov2Model.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as err:
        raise FileNotFoundError(f'{folder}: cannot load DINOv2 ({err}); rule download fetches {DINOV2_REPO}') from None
    return DINOv2Features(model.eval().requires_grad_(False)).to(device)
