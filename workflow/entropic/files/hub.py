"""Downloads from the Hugging Face Hub: files of a repository, and whole diffusers pipelines.

A Hub file is checked as a downloaded URL is (entropic.files.download): against the size and sha256 that KNOWN
holds for (repository, file), and against the ETag the Hub sent for it; a file already in place is checked too
(check_file). A pipeline's files are those of the components its model_index.json names, fetched with the
index last, so that its presence marks a complete pipeline. Errors name the repository, the target and what to
do: accept a gated repository's licence and give a token, or place the files by hand.
"""

import hashlib
import json
import os
import re
from pathlib import Path

from tqdm import tqdm

from entropic.files.download import (HUB_ROOT, LOG, NO_NETWORK_HINT, check_file, file_problems, known,
                                     log_verification, sha256_of, verification_level, write_stamp)

#----------------------------------------------------------------------------

class _SilentBar(tqdm):
    """A progress bar that never draws: hf_hub_download's `tqdm_class` when progress=False."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, 'disable': True})

def hub_files_present(path, files):
    """Whether every file (a path relative to the repository) is in the local folder `path`."""
    return all((Path(path) / name).is_file() for name in files)

def download_hub(repo_id, path, *, files, revision=None, progress=True, expected=None, log=LOG):
    """Fetch `files` of the Hub model `repo_id` into the folder `path`; return their paths.

    `expected` maps a file to the (size in bytes, sha256) known for it, either None; a file it leaves out gets
    what KNOWN holds for (`repo_id`, file) (what the download rule checks). A file already present is
    checked against those (`check_file`). A fetched one is checked against them and against the ETag the Hub
    sent for it, which huggingface_hub records beside the folder: the sha256 of a file kept in Git LFS, the git
    blob sha1 of any other (huggingface_hub.file_download, HfFileMetadata). huggingface_hub 2.4 itself
    compares a file it fetched over HTTP with the size the Hub announced, not with a digest. A wrong file is deleted (ValueError naming it, what was found and expected) and
    a rerun fetches it again."""
    import httpx
    import huggingface_hub
    from huggingface_hub import errors

    path = Path(path)
    expected = expected or {}
    local = []
    for name in files:
        target = path / name
        size, sha256 = expected.get(name) or known(repo=repo_id, file=name)
        source = f'{HUB_ROOT}{repo_id} ({name})'
        if target.is_file():
            check_file(target, size, sha256, source=source, log=log)
        else:
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
            _verify_hub(path, name, size, sha256, source, log)
        local.append(target)
    return local

def _verify_hub(folder, name, size, sha256, source, log):
    """Check a file huggingface_hub just fetched into `folder` against the known size and sha256 and the Hub's
    ETag; delete it when wrong (ValueError)."""
    target = folder / name
    etag = _hub_etag(folder, name)
    problems = file_problems(target, size, sha256)
    if not problems and etag is not None:
        if len(etag) == 64:
            found, kind = sha256_of(target), 'sha256'
        else:
            found, kind = _git_blob_sha1(target), 'git blob sha1'
        if found != etag:
            problems.append(f'{kind} {found}, where the Hub gave {etag}')
    if problems:
        target.unlink()
        raise ValueError(f'{source} downloaded to {target} is wrong ({"; ".join(problems)}); it was deleted, rerun '
                         'to download it again')
    if sha256 is not None:
        write_stamp(target, sha256_of(target))
    if etag is not None and len(etag) == 64:
        log.info(f'{target}: verified (sha256 as the Hub gave it{" and as known" if sha256 else ""})')
    elif etag is not None:
        log.info(f'{target}: verified (git blob sha1 as the Hub gave it{"; sha256 as known" if sha256 else ""})')
    else:
        log_verification(log, target, verification_level(size, sha256), source)

def _hub_etag(folder, name):
    """The ETag huggingface_hub recorded for the file `name` it fetched into `folder` (its
    `.cache/huggingface/download/<name>.metadata`), in lower case: 64 hex digits (sha256, an LFS file) or 40
    (git blob sha1); None if none was recorded or it is neither."""
    try:
        from huggingface_hub._local_folder import read_download_metadata
        metadata = read_download_metadata(Path(folder), name)
    except (ImportError, OSError, ValueError):
        return None
    etag = None if metadata is None else metadata.etag.strip('"').lower()
    return etag if etag is not None and re.fullmatch(r'[0-9a-f]{40}|[0-9a-f]{64}', etag) else None

def _git_blob_sha1(path):
    """The git object id of a file's bytes as a blob: sha1 of `blob <size>\\0` and the bytes (the Git book,
    section 10.2, Git Objects)."""
    digest = hashlib.sha1(f'blob {os.path.getsize(path)}\0'.encode())
    with open(path, 'rb') as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()

#----------------------------------------------------------------------------
# A diffusers pipeline of the Hub: its index, then every file of the components it names.

# weights, a shard of them or their shard index: model.safetensors, model.fp16-00001-of-00002.safetensors,
# model.safetensors.index.json; a variant's index puts the variant last (model.safetensors.index.fp16.json)
_WEIGHTS = re.compile(r'(?P<stem>[^/]+?)(?P<shard>-\d{5}-of-\d{5})?\.(?P<kind>safetensors|bin)'
                      r'(?P<index>\.index(?:\.(?P<variant>[^./]+))?\.json)?$')
_FORMATS = ('.msgpack', '.onnx', '.onnx_data', '.pb', '.h5', '.ot', '.ckpt', '.tflite', '.mlmodel')
# components of the safety filter and of image prompts, which no sampling job loads (SD1.5's safety checker: 1.2 GB)
_UNUSED = ('safety_checker', 'feature_extractor', 'image_encoder')

def pipeline_files(listing, index, prefix=''):
    """The files of a diffusers pipeline to fetch, from the repository's file `listing` and its model_index.json
    `index` (a dict) at `prefix` ('' or 'sub/'): every file in the folder of a component the index names (but the
    safety checker, its feature extractor and an image encoder, which the backend never loads), with the weights
    once: safetensors where the folder has them, else PyTorch .bin, no precision variant (`*.fp16.safetensors`), no
    other framework's format (Flax, ONNX, ...). Sorted; the index itself is not included."""
    components = {name for name, value in index.items() if not name.startswith('_') and name not in _UNUSED
                  and isinstance(value, list) and len(value) == 2 and value[1]}
    chosen = []
    for component in sorted(components):
        folder = f'{prefix}{component}/'
        files = [name for name in listing if name.startswith(folder) and '/' not in name[len(folder):]]
        weights = {name: _WEIGHTS.match(name[len(folder):]) for name in files}
        plain = {name: m for name, m in weights.items()           # no variant: model.fp16, index.fp16.json
                 if m and '.' not in m['stem'] and not m['variant']}
        kinds = {m['kind'] for m in plain.values()}
        kind = 'safetensors' if 'safetensors' in kinds else 'bin'
        for name in files:
            m = weights[name]
            if m is not None:
                if name in plain and m['kind'] == kind:
                    chosen.append(name)
            elif not name.endswith(_FORMATS):
                chosen.append(name)
    return sorted(chosen)

def download_pipeline(repo_id, path, *, index='model_index.json', revision=None, progress=True, log=LOG):
    """Fetch the diffusers pipeline of the Hub repository `repo_id` (its `index`, model_index.json or
    <subfolder>/model_index.json) into the folder `path`: the index is read, the repository listed, every file of
    `pipeline_files` fetched and checked as download_hub checks a file, and the index written last, so that its
    presence marks a complete pipeline. Returns the index's path."""
    import tempfile
    import httpx
    import huggingface_hub
    from huggingface_hub import errors
    prefix = index[:-len('model_index.json')]
    try:
        listing = huggingface_hub.HfApi().list_repo_files(repo_id, revision=revision)
        with tempfile.TemporaryDirectory() as scratch:      # read, not kept: it is written last, below
            entries = json.loads(Path(huggingface_hub.hf_hub_download(repo_id, index, revision=revision,
                                                                      local_dir=scratch)).read_text())
    except errors.GatedRepoError as err:
        raise RuntimeError(f'cannot read the Hugging Face repository {repo_id}: it is gated and refused this request. '
                           f'Accept its licence at {HUB_ROOT}{repo_id} while logged in, then give an access token in '
                           'the environment variable HF_TOKEN and rerun') from err
    except (OSError, ValueError, errors.HfHubHTTPError, httpx.HTTPError) as err:
        raise RuntimeError(f'cannot read {index} of the Hugging Face repository {HUB_ROOT}{repo_id} '
                           f'({type(err).__name__}: {err}). This machine may have no network access; you can also '
                           f'place the pipeline (a save_pretrained folder of it) in {path} by hand') from err
    files = pipeline_files(listing, entries, prefix)
    log.info(f'{repo_id}: {len(files)} files of the components {sorted({f[len(prefix):].split("/")[0] for f in files})}')
    download_hub(repo_id, path, files=files, revision=revision, progress=progress, log=log)
    return download_hub(repo_id, path, files=[index], revision=revision, progress=progress, log=log)[0]
