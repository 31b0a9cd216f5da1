"""Downloads of pretrained weights: resumable HTTP files and Hugging Face Hub files.

A file appears at its target path only when complete and checked. Bytes go to `<path>.part` beside the
target; an interrupted transfer keeps the part so that a rerun resumes with an HTTP range request. Errors
name the URL (or repository), the target and say how to place the file by hand on a machine without
network access.
"""

import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

# EDM2 post-hoc EMA reconstructions (Karras et al. 2024, "Analyzing and Improving the Training Dynamics
# of Diffusion Models"), one pickle per model size, training length and EMA length.
EDM2_ROOT = 'https://nvlabs-fi-cdn.nvidia.com/edm2/posthoc-reconstructions/'
EDM2_NAME = re.compile(r'edm2-img(512|64)-(xs|s|m|l|xl|xxl)(-uncond)?-\d{7}-\d+\.\d{3}\.pkl')

# The Stable Diffusion VAE fine-tuned with an MSE loss, which decodes EDM2's img512 latents.
SD_VAE_REPO = 'stabilityai/sd-vae-ft-mse'
SD_VAE_FILES = ['config.json', 'diffusion_pytorch_model.safetensors']

# Stable Diffusion 1.5: what a StableDiffusionPipeline without safety checker loads. The repository also
# holds `variant='fp16'` copies (`*.fp16.safetensors`); we keep the plain fp32 names.
SD15_REPO = 'stable-diffusion-v1-5/stable-diffusion-v1-5'
SD15_FOLDER = 'resources/stable-diffusion-v1-5'     # where rule download puts them, in the working directory
SD15_FILES = [
    'model_index.json',
    'scheduler/scheduler_config.json',
    'tokenizer/merges.txt',
    'tokenizer/special_tokens_map.json',
    'tokenizer/tokenizer_config.json',
    'tokenizer/vocab.json',
    'text_encoder/config.json',
    'text_encoder/model.safetensors',
    'unet/config.json',
    'unet/diffusion_pytorch_model.safetensors',
    'vae/config.json',
    'vae/diffusion_pytorch_model.safetensors',
]

# Stable Diffusion 3 Medium in diffusers' layout: what the SD3 backend reads of a StableDiffusion3Pipeline (the
# MMDiT transformer, the VAE, CLIP-L, CLIP-G and T5-XXL with their tokenizers, the flow-matching scheduler),
# about 25 GB with T5-XXL in float32; the transformer file is float16. The `fp16` variants are not fetched, nor
# the T5 tokenizer's spiece.model (transformers reads its tokenizer.json). The repository is gated: its licence
# is accepted on its page while logged in, and the download reads that account's token from HF_TOKEN.
SD3_REPO = 'stabilityai/stable-diffusion-3-medium-diffusers'
SD3_FILES = [
    'model_index.json',
    'scheduler/scheduler_config.json',
    'tokenizer/merges.txt',
    'tokenizer/special_tokens_map.json',
    'tokenizer/tokenizer_config.json',
    'tokenizer/vocab.json',
    'tokenizer_2/merges.txt',
    'tokenizer_2/special_tokens_map.json',
    'tokenizer_2/tokenizer_config.json',
    'tokenizer_2/vocab.json',
    'tokenizer_3/special_tokens_map.json',
    'tokenizer_3/tokenizer.json',
    'tokenizer_3/tokenizer_config.json',
    'text_encoder/config.json',
    'text_encoder/model.safetensors',
    'text_encoder_2/config.json',
    'text_encoder_2/model.safetensors',
    'text_encoder_3/config.json',
    'text_encoder_3/model.safetensors.index.json',
    'text_encoder_3/model-00001-of-00002.safetensors',
    'text_encoder_3/model-00002-of-00002.safetensors',
    'transformer/config.json',
    'transformer/diffusion_pytorch_model.safetensors',
    'vae/config.json',
    'vae/diffusion_pytorch_model.safetensors',
]

# The feature networks and reference statistics of FID and FD-DINOv2 (entropic.image_metrics): the FID
# Inception-v3 graph of 2015-12-05 as pytorch-fid ported it, DINOv2 ViT-L/14 in transformers' layout, and
# NVlabs' statistics of their ImageNet training sets (`img512`, `img64`).
INCEPTION_URL = ('https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/'
                 'pt_inception-2015-12-05-6726825d.pth')
INCEPTION_FILE = 'pt_inception-2015-12-05-6726825d.pth'
DINOV2_REPO = 'facebook/dinov2-large'
DINOV2_FILES = ['config.json', 'model.safetensors']
EDM2_REFERENCE_ROOT = 'https://nvlabs-fi-cdn.nvidia.com/edm2/dataset-refs/'
EDM2_REFERENCE_NAME = re.compile(r'img(512|64)\.pkl')

HUB_ROOT = 'https://huggingface.co/'     # a repository's page (and licence) is HUB_ROOT + its id

NO_NETWORK_HINT = 'This machine may have no network access; you can also place the file there by hand.'

#----------------------------------------------------------------------------

def edm2_url(name):
    """The URL of an EDM2 reconstruction `edm2-img{512|64}-{size}[-uncond]-{kimg:07d}-{ema:.3f}.pkl`."""
    if not EDM2_NAME.fullmatch(name):
        raise ValueError(f'{name!r} is not an EDM2 file name (edm2-img{{512|64}}-{{xs|s|m|l|xl|xxl}}'
                         f'[-uncond]-{{kimg:07d}}-{{ema:.3f}}.pkl)')
    return EDM2_ROOT + name

#----------------------------------------------------------------------------

def download_url(url, path, *, expected_size=None, sha256=None, progress=True, chunk_size=1 << 20, timeout=60):
    """Fetch `url` into `path` (skipped when present), resuming a `<path>.part` left by an interrupted run."""
    path = Path(path)
    if path.exists():
        size = path.stat().st_size
        if expected_size is not None and size != expected_size:
            raise ValueError(f'{path}: exists with {size} bytes, expected {expected_size}; '
                             f'remove it to download it again from {url}')
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + '.part')
    try:
        total = _transfer(url, part, progress=progress, chunk_size=chunk_size, timeout=timeout)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        raise RuntimeError(f'cannot download {url} to {path} ({err}). {NO_NETWORK_HINT}') from err
    _verify(url, path, part, total, expected_size, sha256)
    os.replace(part, path)
    return path

def _transfer(url, part, *, progress, chunk_size, timeout):
    """Append the rest of `url` to `part` (or rewrite it when the server ignores ranges); return the total size."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {'Range': f'bytes={offset}-'} if offset else {}
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # nothing left past `offset`: the part is complete (checked later)
            total = _range_total(err.headers.get('Content-Range'))
            err.close()
            return offset if total is None else total
        raise
    with response:
        if response.status == 206:
            start, total = _content_range(url, response.headers.get('Content-Range'))
            if start != offset:
                raise RuntimeError(f'{url}: asked for bytes from {offset}, the server sent them from {start}')
            mode = 'ab'
        else:  # 200: no range support, start over
            length = response.headers.get('Content-Length')
            offset, total, mode = 0, None if length is None else int(length), 'wb'
        bar = tqdm(total=total, initial=offset, unit='B', unit_scale=True, desc=part.stem,
                   disable=not progress)
        with bar, open(part, mode) as file:
            while chunk := response.read(chunk_size):
                file.write(chunk)
                bar.update(len(chunk))
    return total

def _content_range(url, header):
    """(first byte, total size or None) of a `Content-Range: bytes a-b/total` header."""
    match = re.fullmatch(r'bytes (\d+)-\d+/(\d+|\*)', (header or '').strip())
    if match is None:
        raise RuntimeError(f'{url}: partial response with a bad Content-Range {header!r}')
    return int(match[1]), None if match[2] == '*' else int(match[2])

def _range_total(header):
    """Total size from the `Content-Range: bytes */total` of a 416 answer, or None."""
    match = re.fullmatch(r'bytes \*/(\d+)', (header or '').strip())
    return None if match is None else int(match[1])

def _verify(url, path, part, total, expected_size, sha256):
    """Check the finished part: a short one is kept for resuming, a wrong one is deleted."""
    size = part.stat().st_size
    if total is not None and size < total:
        raise RuntimeError(f'download of {url} to {path} stopped at {size} of {total} bytes; '
                           f'{part} is kept and a rerun resumes it. {NO_NETWORK_HINT}')
    problems = []
    if total is not None and size != total:
        problems.append(f'{size} bytes where the server announced {total}')
    if expected_size is not None and size != expected_size:
        problems.append(f'{size} bytes, expected {expected_size}')
    if sha256 is not None and not problems and (digest := _sha256(part)) != sha256.lower():
        problems.append(f'sha256 {digest}, expected {sha256}')
    if problems:
        part.unlink()
        raise ValueError(f'download of {url} to {path} is wrong ({"; ".join(problems)}); '
                         'the partial file was deleted, rerun to download it again')

def _sha256(path, chunk_size=1 << 20):
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        while chunk := file.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()

#----------------------------------------------------------------------------

class _SilentBar(tqdm):
    """A progress bar that never draws: hf_hub_download's `tqdm_class` when progress=False."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, 'disable': True})

def hub_files_present(path, files):
    """Whether every file (a path relative to the repository) is in the local folder `path`."""
    return all((Path(path) / name).is_file() for name in files)

def download_hub(repo_id, path, *, files, revision=None, progress=True):
    """Fetch `files` of the Hub model `repo_id` into the folder `path` (present ones skipped); return their paths."""
    import httpx
    import huggingface_hub
    from huggingface_hub import errors

    path = Path(path)
    local = []
    for name in files:
        target = path / name
        if not target.is_file():
            try:
                huggingface_hub.hf_hub_download(repo_id, name, revision=revision, local_dir=path,
                                                tqdm_class=None if progress else _SilentBar)
            except errors.GatedRepoError as err:     # before OSError and httpx.HTTPError, which it also is
                raise RuntimeError(f'cannot download {name} of the Hugging Face repository {repo_id} into {path}: '
                                   'the repository is gated and refused this request (HTTP '
                                   f'{err.response.status_code}). Accept its licence at {HUB_ROOT}{repo_id} while '
                                   'logged in, then give an access token of that account in the environment '
                                   'variable HF_TOKEN (or run `hf auth login`) and rerun') from err
            except (OSError, errors.EntryNotFoundError, errors.XetDownloadError, httpx.HTTPError) as err:
                raise RuntimeError(f'cannot download {name} of the Hugging Face repository {repo_id} into '
                                   f'{path} ({type(err).__name__}: {err}). {NO_NETWORK_HINT}') from err
        local.append(target)
    return local
