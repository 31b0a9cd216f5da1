"""Downloads of pretrained weights: what is published where, resumable HTTP downloads, and the checks of a file.

The published files (EDM2's pickles, the Hub repositories and the files of each that the backends read, the
image metrics' networks and statistics) and what is known of their bytes (KNOWN). A file appears at its target
path only when complete and checked. Bytes go to `<path>.part` beside the target; an interrupted transfer keeps
the part so that a rerun resumes with an HTTP range request, and only from the version of the file the part
began with (`If-Range`). A file is checked against the size and sha256 that KNOWN holds for it; a file already
in place, placed by hand or downloaded before, is checked too (`check_file`), unless SKIP_VARIABLE names it.
Hub files and whole diffusers pipelines are fetched by entropic.files.hub, with the same checks and the Hub's
ETag. docs/reliability.md lists the guarantees. Errors name the URL (or repository), the target and say how to
place the file by hand on a machine without network access.
"""

import hashlib
import http.client
import json
import logging
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

# The feature networks and reference statistics of FID and FD-DINOv2 (entropic.networks.inception and dinov2,
# entropic.studies.image_metrics): the FID Inception-v3 graph of 2015-12-05 as pytorch-fid ported it, DINOv2
# ViT-L/14 in transformers' layout, and NVlabs' statistics of their ImageNet training sets (`img512`, `img64`).
INCEPTION_URL = ('https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/'
                 'pt_inception-2015-12-05-6726825d.pth')
INCEPTION_FILE = 'pt_inception-2015-12-05-6726825d.pth'
DINOV2_REPO = 'facebook/dinov2-large'
DINOV2_FILES = ['config.json', 'model.safetensors']
EDM2_REFERENCE_ROOT = 'https://nvlabs-fi-cdn.nvidia.com/edm2/dataset-refs/'
EDM2_REFERENCE_NAME = re.compile(r'img(512|64)\.pkl')

HUB_ROOT = 'https://huggingface.co/'     # a repository's page (and licence) is HUB_ROOT + its id

# What is known of the published files' bytes, by URL or by (Hub repository, file): (size in bytes, sha256 in
# hex or a prefix of it of at least 8 digits), either None. Only values a public page gives, cited beside them.
# Downloads and files in place are checked against them (check_file); a file missing here is checked only as far
# as its server tells (the length it announces; the Hub's ETag) and the job's log says so. No size or digest of
# NVlabs' EDM2 pickles and dataset statistics, nor of any Hub file, is published outside the hosts themselves,
# which this project's machines cannot reach: none is listed yet.
KNOWN = {
    # The first 8 hex digits of the sha256, which the file's name carries by the convention of torch.hub
    # (https://pytorch.org/docs/stable/hub.html, load_state_dict_from_url: `filename-<sha256>.ext`).
    INCEPTION_URL: (None, '6726825d'),
}

def known(url=None, repo=None, file=None):
    """(size, sha256) of a published file, by its URL or its Hub repository and path (KNOWN); (None, None) for
    a file of which nothing is known."""
    return KNOWN.get(url if url else (repo, file), (None, None))

NO_NETWORK_HINT = 'This machine may have no network access; you can also place the file there by hand.'

# Names the files (paths separated by os.pathsep) that are used without checking them against their known size
# and sha256: files built by the user in place of a published one. An environment variable, so that it changes
# no parameter of the workflow.
SKIP_VARIABLE = 'ENTROPIC_SKIP_VERIFY'

LOG = logging.getLogger('entropic')

#----------------------------------------------------------------------------

def edm2_url(name):
    """The URL of an EDM2 reconstruction `edm2-img{512|64}-{size}[-uncond]-{kimg:07d}-{ema:.3f}.pkl`."""
    if not EDM2_NAME.fullmatch(name):
        raise ValueError(f'{name!r} is not an EDM2 file name (edm2-img{{512|64}}-{{xs|s|m|l|xl|xxl}}'
                         f'[-uncond]-{{kimg:07d}}-{{ema:.3f}}.pkl)')
    return EDM2_ROOT + name

#----------------------------------------------------------------------------

def download_url(url, path, *, expected_size=None, sha256=None, progress=True, chunk_size=1 << 20, timeout=60,
                 log=LOG):
    """Fetch `url` into `path`, resuming a `<path>.part` left by an interrupted run; return `path`.

    A file already at `path` is not fetched again but checked (`check_file`). `expected_size` is in bytes,
    `sha256` a hex digest or a prefix of one (at least 8 digits); without either, what KNOWN holds for `url`
    (what the download rule checks). The body is written where its
    Content-Range says it starts, whatever the status; a resume sends `If-Range` with the ETag (or
    Last-Modified) stored beside the part, so that a file changed on the server is fetched again whole
    rather than spliced onto the old part (RFC 9110, sections 13.1.5 and 14.4). RuntimeError names the URL
    and the target when the transfer fails (the part is kept for a rerun); ValueError when the file is not
    what was expected (the part is deleted, a rerun starts over)."""
    path = Path(path)
    if expected_size is None and sha256 is None:
        expected_size, sha256 = known(url)
    if path.exists():
        check_file(path, expected_size, sha256, source=url, log=log)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + '.part')
    try:
        total = _transfer(url, part, progress=progress, chunk_size=chunk_size, timeout=timeout, log=log)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        raise RuntimeError(f'cannot download {url} to {path} ({err}). {NO_NETWORK_HINT}') from err
    checked = _verify(url, path, part, total, expected_size, sha256)
    digest = sha256_of(part) if sha256 is not None else None     # computed by _verify already
    os.replace(part, path)
    _validator_file(part).unlink(missing_ok=True)
    if digest is not None:
        write_stamp(path, digest)
    log_verification(log, path, checked, url)
    return path

def _transfer(url, part, *, progress, chunk_size, timeout, log):
    """Fetch the rest of `url` into `part` (all of it when the part cannot be resumed); return the file's total
    size as the server gave it (None when it gave none)."""
    for _ in range(2):      # a second try only after the file changed on the server under a part
        offset = part.stat().st_size if part.exists() else 0
        validator = _read_validator(part, url) if offset else None
        if offset and validator is None:
            log.info(f'{part}: no ETag or Last-Modified of {url} is stored beside it, so a resume could splice two '
                     'versions of the file; starting over')
            _discard(part)
            offset = 0
        headers = {'Range': f'bytes={offset}-', 'If-Range': _if_range(validator)} if offset else {}
        try:
            response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
        except urllib.error.HTTPError as err:
            if err.code == 416 and offset:   # nothing past `offset`: complete if the file is `offset` bytes long
                total = _range_total(err.headers.get('Content-Range'))
                err.close()
                if total in (None, offset):
                    return offset if total is None else total
                log.info(f'{part}: {offset} bytes, but {url} now has {total}; starting over')
                _discard(part)
                continue
            raise
        with response:
            start, end, total = _body_range(url, response)
            if start not in (0, offset):
                raise RuntimeError(f'{url}: asked for bytes from {offset}, the server sent them from {start}')
            if start and _changed(validator, response.headers):
                log.info(f'{url} changed on the server since {part} was begun (its ETag or Last-Modified differs) '
                         'and the server ignored If-Range; starting over')
                _discard(part)
                continue
            if not start:
                _write_validator(part, url, response.headers)
            bar = tqdm(total=total, initial=start, unit='B', unit_scale=True, desc=part.stem, disable=not progress)
            with bar, open(part, 'ab' if start else 'wb') as file:
                while chunk := response.read(chunk_size):
                    file.write(chunk)
                    bar.update(len(chunk))
        if end is not None and part.stat().st_size < end:
            rerun = ('a rerun resumes it' if _read_validator(part, url) else
                     'a rerun starts over (the server gave no ETag or Last-Modified to resume by)')
            raise OSError(f'the connection closed at byte {part.stat().st_size} of {end}; {part} is kept and {rerun}')
        return total
    raise RuntimeError(f'{url} changed on the server twice while it was downloaded to {part}; rerun later')

def _body_range(url, response):
    """(first byte of the body in the file, the byte after its last or None, the file's total size or None).
    A Content-Range is honoured whatever the status (a server may send one with 200); without one the body
    is the whole file, and a 206 without one is refused."""
    header = response.headers.get('Content-Range')
    length = response.headers.get('Content-Length')
    if header is not None:
        match = re.fullmatch(r'bytes (\d+)-(\d+)/(\d+|\*)', header.strip())
        if match is None:
            raise RuntimeError(f'{url}: a response with a bad Content-Range {header!r}')
        first, last = int(match[1]), int(match[2])
        if last < first or (length is not None and int(length) != last - first + 1):
            raise RuntimeError(f'{url}: Content-Range {header!r} does not match Content-Length {length}')
        return first, last + 1, None if match[3] == '*' else int(match[3])
    if response.status == 206:
        raise RuntimeError(f'{url}: a partial response (206) without Content-Range')
    size = None if length is None else int(length)
    return 0, size, size

def _range_total(header):
    """Total size from the `Content-Range: bytes */total` of a 416 answer, or None."""
    match = re.fullmatch(r'bytes \*/(\d+)', (header or '').strip())
    return None if match is None else int(match[1])

# The validator of a part: the ETag and Last-Modified of the response its first byte came from, in
# `<target>.part.validator` beside it, so that a resume asks for the rest of that same version only.

def _validator_file(part):
    return part.with_name(part.name + '.validator')

def _write_validator(part, url, headers):
    validator = {'url': url, 'etag': headers.get('ETag'), 'last_modified': headers.get('Last-Modified')}
    if _if_range(validator) is None:
        _validator_file(part).unlink(missing_ok=True)
    else:
        _validator_file(part).write_text(json.dumps(validator))

def _read_validator(part, url):
    """The stored validator of `part` if it was begun from `url` and one can be sent in If-Range; else None."""
    try:
        validator = json.loads(_validator_file(part).read_text())
    except (OSError, ValueError):
        return None
    return validator if validator.get('url') == url and _if_range(validator) is not None else None

def _if_range(validator):
    """The If-Range value: a strong ETag, else Last-Modified (a weak ETag may not be sent there), or None."""
    etag = validator.get('etag')
    if etag and not etag.startswith('W/'):
        return etag
    return validator.get('last_modified') or None

def _changed(validator, headers):
    """Whether a response's ETag or Last-Modified shows another version of the file than the part's."""
    for key, header in (('etag', 'ETag'), ('last_modified', 'Last-Modified')):
        if validator.get(key) and headers.get(header) and validator[key] != headers[header]:
            return True
    return False

def _discard(part):
    part.unlink(missing_ok=True)
    _validator_file(part).unlink(missing_ok=True)

def _verify(url, path, part, total, expected_size, sha256):
    """Check the finished part against the server's total and the known size and sha256; a wrong one is
    deleted (ValueError). Returns what was checked (`log_verification`)."""
    size = part.stat().st_size
    problems = [f'{size} bytes where the server announced {total}'] if total is not None and size != total else []
    problems = problems or file_problems(part, expected_size, sha256)
    if problems:
        _discard(part)
        raise ValueError(f'download of {url} to {path} is wrong ({"; ".join(problems)}); the partial file was '
                         'deleted, rerun to download it again')
    return verification_level(expected_size, sha256)

#----------------------------------------------------------------------------
# Known sizes and digests, and files already in place

def file_problems(path, size=None, sha256=None):
    """What differs between the file at `path` and its expected size (bytes) and sha256 (a hex digest, or a
    prefix of one of at least 8 digits): phrases 'found ..., expected ...', none when it matches. The digest
    is computed only when the size matches or is unknown."""
    found = os.path.getsize(path)
    if size is not None and found != size:
        return [f'{found} bytes, expected {size}']
    if sha256 is not None:
        digest = sha256_of(path)
        if not digest.startswith(sha256.lower()):
            return [f'sha256 {digest}, expected {_expected_digest(sha256)}']
    return []

def _expected_digest(sha256):
    return sha256.lower() if len(sha256) == 64 else f'one beginning {sha256.lower()}'

def verification_level(size, sha256):
    """What a check of a file against this size and sha256 verifies: 'sha256', 'size' or None (nothing known)."""
    return 'sha256' if sha256 is not None else 'size' if size is not None else None

def log_verification(log, path, checked, source):
    """The one log line that says how far a file was verified (`checked`, a verification_level) against what is
    known of it at `source`."""
    if checked == 'sha256':
        log.info(f'{path}: verified (size and sha256 as known for {source})')
    elif checked == 'size':
        log.info(f'{path}: size verified; no sha256 is known for {source}')
    else:
        log.info(f'{path}: unverified: no size or sha256 is known for {source}')

def skipped(path):
    """Whether the environment variable SKIP_VARIABLE names `path` (paths separated by os.pathsep)."""
    names = [name for name in os.environ.get(SKIP_VARIABLE, '').split(os.pathsep) if name]
    return any(os.path.realpath(name) == os.path.realpath(path) for name in names)

def check_file(path, size=None, sha256=None, *, source, log=LOG):
    """Check a file already at `path` (downloaded before, or placed by hand) against the size and sha256 known
    for it; `source` names where it comes from. ValueError naming the file, what was found and what was
    expected, and how to skip the check; the file is left in place. A file named in SKIP_VARIABLE is not
    checked. A digest already checked for the same file (size, mtime and inode unchanged) is not computed again:
    it is remembered in `<path>.verified`."""
    path = Path(path)
    checked = verification_level(size, sha256)
    if checked is not None and skipped(path):
        log.warning(f'{path}: not checked against its known size and sha256 ({SKIP_VARIABLE} names it)')
        return
    if sha256 is not None and _stamp_matches(path, sha256):
        log_verification(log, path, checked, source)
        return
    problems = file_problems(path, size, sha256)
    if problems:
        raise ValueError(f'{path}: {"; ".join(problems)} (the file published at {source}). Remove it and rerun to '
                         'download it, or place the published file there. If you built this file yourself, skip '
                         f'the check for it: {SKIP_VARIABLE}={path} (several paths separated by {os.pathsep!r})')
    if sha256 is not None:
        write_stamp(path)
    log_verification(log, path, checked, source)

def placed_file_errors(files):
    """One line for each file of {path: Download} that is already in place (relative paths from the working
    directory) and differs from its known size or sha256 (`check_file`); the check of the config runs this
    before any job, since Snakemake runs no download job for a file that is present."""
    errors = []
    for path, source in files.items():
        if os.path.isfile(path):
            try:
                check_file(path, source.size, source.sha256, source=describe(source))
            except ValueError as err:
                errors.append(str(err))
    return errors

def describe(source):
    """Where a Download comes from, in words: its URL, or `<repository>: <file>` of the Hub."""
    return source.url or f'{HUB_ROOT}{source.repo} ({source.file})'

# `<path>.verified`: the sha256 of `path` when it was last computed, with the size, mtime and inode it had then.

def _stamp_file(path):
    return path.with_name(path.name + '.verified')

def _identity(path):
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]

def _stamp_matches(path, sha256):
    try:
        stamp = json.loads(_stamp_file(path).read_text())
    except (OSError, ValueError):
        return False
    return stamp.get('identity') == _identity(path) and str(stamp.get('sha256', '')).startswith(sha256.lower())

def write_stamp(path, digest=None):
    """Remember `digest` (by default the file's sha256) as the checked sha256 of `path`, in `<path>.verified` with
    the size, mtime and inode it has now; nothing in a read-only folder (the digest is computed again next time)."""
    stamp = _stamp_file(path)
    try:
        temporary = stamp.with_name(stamp.name + '.tmp')
        temporary.write_text(json.dumps({'sha256': digest or sha256_of(path), 'identity': _identity(path)}))
        os.replace(temporary, stamp)
    except OSError:     # a read-only folder: the digest is computed again next time
        pass

_SHA256_CACHE = {}

def sha256_of(path, chunk_size=1 << 20):
    """The hex sha256 of a file, computed once per process for an unchanged file."""
    key = (os.path.realpath(path), *_identity(Path(path)))
    if key not in _SHA256_CACHE:
        digest = hashlib.sha256()
        with open(path, 'rb') as file:
            while chunk := file.read(chunk_size):
                digest.update(chunk)
        _SHA256_CACHE[key] = digest.hexdigest()
    return _SHA256_CACHE[key]
