"""Downloads: complete files only, resumed transfers, checked sizes and digests, clear errors offline.

HTTP cases talk to a small server on 127.0.0.1 serving bytes from memory; Hub cases run huggingface_hub
in offline mode. Nothing here reaches the internet.
"""

import concurrent.futures
import email.utils
import hashlib
import http.server
import logging
import os
import re
import socket
import threading
from pathlib import Path

import pytest

from entropic.files import download
from entropic.files.hub import download_hub, download_pipeline, hub_files_present, pipeline_files
from entropic.backends.base import Download
from entropic.backends.pretrained import PretrainedBackend

DATA = bytes(range(256)) * 1000 + b'tail'  # 256004 bytes, no period that hides an offset error
NEW = DATA[::-1]                            # the file as it is after a change on the server: the same size


class Server:
    """A threaded HTTP server of one byte string, with switches for the ways a server can misbehave."""

    def __init__(self, data):
        self.data = data
        self.ranges = True       # honour `Range: bytes=n-` (206); False answers 200 with everything
        self.ok_partial = False  # answer a range with status 200, yet only the rest and a correct Content-Range
        self.validator = 'etag'  # what each response carries: 'etag', 'last-modified' or None
        self.if_range = True     # honour If-Range (RFC 9110, 13.1.5): the whole file when it names another version
        self.truncate = None     # send only this many body bytes, then close (an interrupted transfer)
        self.requests = []       # the Range header of every request (None without one)
        self.if_ranges = []      # the If-Range header of every request
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        self.httpd.state = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)

    def url(self, name='file.bin'):
        return f'http://127.0.0.1:{self.httpd.server_address[1]}/{name}'

    def version(self):
        """The validator of the current data: an ETag, or a Last-Modified date (both differ between versions)."""
        digest = hashlib.sha256(self.data).digest()
        if self.validator == 'etag':
            return '"' + digest.hex()[:16] + '"'
        return email.utils.formatdate(1_600_000_000 + digest[0] * 86400, usegmt=True)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_GET(self):
        state = self.server.state
        header, condition = self.headers.get('Range'), self.headers.get('If-Range')
        state.requests.append(header)
        state.if_ranges.append(condition)
        data, start = state.data, 0
        current = state.version() if state.validator else None
        stale = condition is not None and state.if_range and condition != current
        if header is not None and state.ranges and not stale:
            start = int(re.fullmatch(r'bytes=(\d+)-', header)[1])
            if start >= len(data):
                self.send_response(416)
                self.send_header('Content-Range', f'bytes */{len(data)}')
                self.send_header('Content-Length', '0')
                self.end_headers()
                return
            self.send_response(200 if state.ok_partial else 206)
            self.send_header('Content-Range', f'bytes {start}-{len(data) - 1}/{len(data)}')
        else:
            self.send_response(200)
        if current is not None:
            self.send_header('ETag' if state.validator == 'etag' else 'Last-Modified', current)
        body = data[start:]
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if state.truncate is not None:
            body = body[:state.truncate]
            self.close_connection = True
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    server = Server(DATA)
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def closed_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def interrupted(server, target, at=100_000):
    """Leave `<target>.part` with the first `at` bytes of the server's data, as a broken transfer does."""
    server.truncate = at
    with pytest.raises(RuntimeError, match='is kept and a rerun') as info:
        download.download_url(server.url(), target, progress=False, chunk_size=4096)
    server.truncate = None
    assert target.with_name(target.name + '.part').stat().st_size == at
    return str(info.value)

#----------------------------------------------------------------------------
# download_url

def test_full_download_gives_identical_bytes_and_no_part(server, tmp_path):
    target = tmp_path / 'sub' / 'file.bin'
    assert download.download_url(server.url(), target, progress=False, chunk_size=4096) == target
    assert target.read_bytes() == DATA
    assert sorted(p.name for p in (tmp_path / 'sub').iterdir()) == ['file.bin']     # no part, no validator left
    assert server.requests == [None]


@pytest.mark.parametrize('mask', [0o002, 0o022])
def test_downloaded_file_has_the_mode_of_a_plain_open_under_the_umask(server, tmp_path, mask):
    old = os.umask(mask)
    try:
        (tmp_path / 'plain').write_bytes(b'x')
        target = tmp_path / 'file.bin'
        download.download_url(server.url(), target, progress=False)
    finally:
        os.umask(old)
    assert oct(target.stat().st_mode & 0o7777) == oct((tmp_path / 'plain').stat().st_mode & 0o7777) == oct(0o666 & ~mask)


def test_checked_size_and_digest_accept_the_right_file_and_log_it(server, tmp_path, caplog):
    target = tmp_path / 'file.bin'
    with caplog.at_level(logging.INFO, logger='entropic'):
        download.download_url(server.url(), target, expected_size=len(DATA),
                              sha256=hashlib.sha256(DATA).hexdigest(), progress=False)
    assert target.read_bytes() == DATA
    assert f'{target}: verified (size and sha256' in caplog.text


def test_a_download_with_nothing_known_is_accepted_with_one_line_saying_it_is_unverified(server, tmp_path, caplog):
    target = tmp_path / 'file.bin'
    with caplog.at_level(logging.INFO, logger='entropic'):
        download.download_url(server.url(), target, progress=False)
    assert target.read_bytes() == DATA
    assert [r.getMessage() for r in caplog.records] == [
        f'{target}: unverified: no size or sha256 is known for {server.url()}']


def test_existing_file_is_skipped_without_contacting_the_server(server, tmp_path):
    target = tmp_path / 'file.bin'
    target.write_bytes(b'x' * 10)
    download.download_url(server.url(), target, progress=False)
    download.download_url(server.url(), target, expected_size=10, progress=False)
    assert server.requests == []
    assert target.read_bytes() == b'x' * 10


def test_existing_file_of_wrong_size_raises_naming_it(server, tmp_path):
    target = tmp_path / 'file.bin'
    target.write_bytes(b'x' * 10)
    with pytest.raises(ValueError, match=re.escape(str(target))) as info:
        download.download_url(server.url(), target, expected_size=len(DATA), progress=False)
    assert '10 bytes, expected 256004' in str(info.value)
    assert target.read_bytes() == b'x' * 10
    assert server.requests == []


def test_interrupted_transfer_keeps_only_the_part_and_a_rerun_resumes(server, tmp_path):
    target, part = tmp_path / 'file.bin', tmp_path / 'file.bin.part'
    server.truncate = 100_000
    with pytest.raises(RuntimeError, match='resumes') as info:
        download.download_url(server.url(), target, progress=False, chunk_size=4096)
    assert server.url() in str(info.value) and str(target) in str(info.value)
    assert not target.exists()
    assert part.read_bytes() == DATA[:100_000]

    server.truncate = None
    download.download_url(server.url(), target, progress=False, chunk_size=4096)
    assert server.requests == [None, 'bytes=100000-']
    assert server.if_ranges == [None, server.version()]
    assert target.read_bytes() == DATA
    assert not part.exists()


def test_keyboard_interrupt_keeps_the_part_and_leaves_no_file(server, tmp_path, monkeypatch):
    class InterruptingBar(download.tqdm):
        def update(self, n=1):
            super().update(n)
            raise KeyboardInterrupt

    monkeypatch.setattr(download, 'tqdm', InterruptingBar)
    target = tmp_path / 'file.bin'
    with pytest.raises(KeyboardInterrupt):
        download.download_url(server.url(), target, progress=False, chunk_size=4096)
    assert not target.exists()
    assert (tmp_path / 'file.bin.part').read_bytes() == DATA[:4096]

    monkeypatch.undo()
    download.download_url(server.url(), target, progress=False)
    assert server.requests == [None, 'bytes=4096-']
    assert target.read_bytes() == DATA


def test_server_without_range_support_restarts_and_gives_identical_bytes(server, tmp_path):
    target, part = tmp_path / 'file.bin', tmp_path / 'file.bin.part'
    interrupted(server, target)
    server.ranges = False
    download.download_url(server.url(), target, progress=False)
    assert server.requests == [None, 'bytes=100000-']
    assert target.read_bytes() == DATA
    assert not part.exists()


def test_complete_part_answered_416_is_finished(server, tmp_path, monkeypatch):
    target, part = tmp_path / 'file.bin', tmp_path / 'file.bin.part'
    verify = download._verify

    def killed_before_the_rename(*args):
        verify(*args)
        raise KeyboardInterrupt

    monkeypatch.setattr(download, '_verify', killed_before_the_rename)
    with pytest.raises(KeyboardInterrupt):
        download.download_url(server.url(), target, progress=False)
    monkeypatch.undo()
    assert part.read_bytes() == DATA and not target.exists()
    download.download_url(server.url(), target, progress=False)
    assert server.requests == [None, f'bytes={len(DATA)}-']
    assert target.read_bytes() == DATA
    assert not part.exists()


def test_sha256_mismatch_deletes_the_part_and_the_next_run_starts_over(server, tmp_path):
    target = tmp_path / 'file.bin'
    server.data = NEW                             # what the server sends is not the published file
    with pytest.raises(ValueError, match='sha256') as info:
        download.download_url(server.url(), target, sha256=hashlib.sha256(DATA).hexdigest(), progress=False)
    message = str(info.value)
    assert server.url() in message and str(target) in message and hashlib.sha256(DATA).hexdigest() in message
    assert list(tmp_path.iterdir()) == []         # no file, no part, no validator
    server.data = DATA
    download.download_url(server.url(), target, sha256=hashlib.sha256(DATA).hexdigest(), progress=False)
    assert server.requests == [None, None] and target.read_bytes() == DATA


def test_unexpected_size_deletes_the_part_and_raises(server, tmp_path):
    target = tmp_path / 'file.bin'
    with pytest.raises(ValueError, match=f'expected {len(DATA) + 1}'):
        download.download_url(server.url(), target, expected_size=len(DATA) + 1, progress=False)
    assert not target.exists()
    assert not (tmp_path / 'file.bin.part').exists()


def test_unreachable_url_raises_runtime_error_naming_url_and_file(tmp_path):
    url = f'http://127.0.0.1:{closed_port()}/x'
    target = tmp_path / 'x'
    with pytest.raises(RuntimeError) as info:
        download.download_url(url, target, progress=False, timeout=5)
    message = str(info.value)
    assert url in message and str(target) in message
    assert 'no network access' in message and 'by hand' in message
    assert not target.exists()

#----------------------------------------------------------------------------
# Servers that misbehave, one fault each (each test failed before entropic.files.download honoured Content-Range on
# any status and stored a validator beside the part)

def test_a_200_answer_to_a_resume_with_a_content_range_is_written_where_the_range_starts(server, tmp_path):
    """The rest of the file with status 200 and a correct Content-Range: appended at its offset, not written
    from byte 0 (a short file whose size matched the Content-Length it was sent)."""
    target = tmp_path / 'file.bin'
    interrupted(server, target)
    server.ok_partial = True
    download.download_url(server.url(), target, progress=False)
    assert server.requests == [None, 'bytes=100000-']
    assert target.read_bytes() == DATA


@pytest.mark.parametrize('validator', ['etag', 'last-modified'])
def test_a_file_changed_on_the_server_is_fetched_whole_through_if_range(server, tmp_path, validator):
    """A resume names the version of its part in If-Range (its ETag, else its Last-Modified); a server that
    has another version sends all of it, which replaces the part instead of being spliced onto it."""
    server.validator = validator
    target = tmp_path / 'file.bin'
    interrupted(server, target)
    old = server.version()
    server.data = NEW
    download.download_url(server.url(), target, progress=False)
    assert target.read_bytes() == NEW
    assert server.requests == [None, 'bytes=100000-'] and server.if_ranges == [None, old]


def test_a_changed_file_is_fetched_again_when_the_server_ignores_if_range(server, tmp_path):
    """A server that answers the range of another version (its ETag differs from the part's): the part is
    discarded and the file fetched from its start."""
    target = tmp_path / 'file.bin'
    interrupted(server, target)
    server.data, server.if_range = NEW, False
    download.download_url(server.url(), target, progress=False)
    assert server.requests == [None, 'bytes=100000-', None]
    assert target.read_bytes() == NEW


def test_a_part_without_a_stored_validator_is_not_resumed(server, tmp_path):
    """A part whose version is unknown (no ETag or Last-Modified stored beside it) could belong to an older
    file: the download starts over."""
    target, part = tmp_path / 'file.bin', tmp_path / 'file.bin.part'
    part.write_bytes(DATA[:100_000])
    server.data = NEW
    download.download_url(server.url(), target, progress=False)
    assert server.requests == [None]
    assert target.read_bytes() == NEW


def test_a_server_without_validators_gets_no_resume(server, tmp_path):
    """Without ETag or Last-Modified there is nothing to send in If-Range: an interrupted transfer starts over."""
    server.validator = None
    target = tmp_path / 'file.bin'
    assert 'a rerun starts over (the server gave no ETag or Last-Modified' in interrupted(server, target)
    assert not (tmp_path / 'file.bin.part.validator').exists()
    download.download_url(server.url(), target, progress=False)
    assert server.requests == [None, None]
    assert target.read_bytes() == DATA


def test_a_part_longer_than_the_file_starts_over(server, tmp_path):
    """A 416 whose Content-Range gives a total other than the part's size: the part is of another version."""
    target = tmp_path / 'file.bin'
    interrupted(server, target)
    server.data, server.if_range = DATA[:50_000], False
    download.download_url(server.url(), target, progress=False)
    assert server.requests == [None, 'bytes=100000-', None]
    assert target.read_bytes() == DATA[:50_000]

#----------------------------------------------------------------------------
# Files in place: downloaded before, or placed by hand

def test_a_file_placed_by_hand_with_a_wrong_sha256_is_refused_naming_both_digests_and_the_skip(server, tmp_path,
                                                                                               monkeypatch):
    target = tmp_path / 'file.bin'
    target.write_bytes(NEW)
    expected = hashlib.sha256(DATA).hexdigest()
    monkeypatch.delenv('ENTROPIC_SKIP_VERIFY', raising=False)
    with pytest.raises(ValueError) as info:
        download.download_url(server.url(), target, expected_size=len(DATA), sha256=expected, progress=False)
    message = str(info.value)
    assert str(target) in message and server.url() in message
    assert f'sha256 {hashlib.sha256(NEW).hexdigest()}, expected {expected}' in message
    assert f'ENTROPIC_SKIP_VERIFY={target}' in message
    assert target.read_bytes() == NEW and server.requests == []       # left in place, nothing fetched

    monkeypatch.setenv('ENTROPIC_SKIP_VERIFY', os.pathsep.join(['/elsewhere', str(target)]))
    assert download.download_url(server.url(), target, sha256=expected, progress=False) == target
    assert server.requests == []


def test_a_sha256_prefix_is_checked_as_the_start_of_the_digest(tmp_path):
    """A file name may carry only the first digits of the digest (torch.hub's `name-<sha256 prefix>.pth`)."""
    path = tmp_path / 'file.bin'
    path.write_bytes(DATA)
    digest = hashlib.sha256(DATA).hexdigest()
    assert download.file_problems(path, sha256=digest[:8]) == []
    wrong = format(int(digest[:8], 16) ^ 1, '08x')
    assert download.file_problems(path, sha256=wrong) == [f'sha256 {digest}, expected one beginning {wrong}']


def test_a_checked_digest_is_remembered_until_the_file_changes(tmp_path, monkeypatch):
    path = tmp_path / 'file.bin'
    path.write_bytes(DATA)
    digest = hashlib.sha256(DATA).hexdigest()
    download.check_file(path, len(DATA), digest, source='test')
    hashed = []
    monkeypatch.setattr(download, 'sha256_of', lambda p, *a: hashed.append(p) or hashlib.sha256(Path(p).read_bytes()).hexdigest())
    download.check_file(path, len(DATA), digest, source='test')
    assert hashed == []                               # the stamp beside it stands for the digest
    path.write_bytes(NEW)                             # same size, other bytes, a new mtime
    with pytest.raises(ValueError, match='sha256'):
        download.check_file(path, len(DATA), digest, source='test')
    assert hashed == [path]


def test_the_config_check_refuses_a_placed_file_that_differs_from_the_published_one(tmp_path, monkeypatch):
    """Snakemake runs no download job for a present file, so the config check looks at every file in place."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(download.SKIP_VARIABLE, raising=False)
    spec = {'guidance_study': {'statistics': 'resources/dataset-refs/img512.pkl'}}
    files = PretrainedBackend().downloads(spec)
    inception = Path('resources/fid') / download.INCEPTION_FILE
    assert files[str(inception)].sha256 == download.known(download.INCEPTION_URL)[1] == '6726825d'
    inception.parent.mkdir(parents=True)
    inception.write_bytes(b'not the published network')
    Path('resources/dataset-refs').mkdir(parents=True)
    Path('resources/dataset-refs/img512.pkl').write_bytes(b'no size or digest known: accepted')
    errors = download.placed_file_errors(files)
    assert len(errors) == 1 and errors[0].startswith(f'{inception}: sha256 ')
    assert 'expected one beginning 6726825d' in errors[0] and download.INCEPTION_URL in errors[0]
    monkeypatch.setenv(download.SKIP_VARIABLE, str(inception))
    assert download.placed_file_errors(files) == []


def test_validating_a_config_refuses_its_placed_files_that_differ_from_the_published_ones(tmp_path, monkeypatch):
    """The check of config/edm2-xs.yaml (its guidance study measures with the FID Inception) before any job."""
    import yaml
    from entropic.pipeline.configuration import validate_config
    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(tmp_path)                 # resources/ are relative to the working directory
    monkeypatch.delenv('ENTROPIC_SKIP_VERIFY', raising=False)
    inception = Path('resources/fid') / download.INCEPTION_FILE
    inception.parent.mkdir(parents=True)
    inception.write_bytes(b'not the published network')
    errors = validate_config(yaml.safe_load((root / 'config/edm2-xs.yaml').read_text()), root=root)
    assert len(errors) == 1 and errors[0].startswith(f'{inception}: sha256 ') and 'ENTROPIC_SKIP_VERIFY' in errors[0]
    monkeypatch.setenv('ENTROPIC_SKIP_VERIFY', str(tmp_path / inception))
    assert validate_config(yaml.safe_load((root / 'config/edm2-xs.yaml').read_text()), root=root) == []


def test_the_download_rule_checks_what_the_table_of_known_files_holds(server, tmp_path, monkeypatch):
    """The job gets only the URL (or repository and file): download_url looks it up in download.KNOWN, which is
    also what a Download reports to the config check."""
    monkeypatch.setitem(download.KNOWN, server.url(), (len(DATA) + 1, None))
    assert (Download(url=server.url()).size, Download(url=server.url()).sha256) == (len(DATA) + 1, None)
    target = tmp_path / 'file.bin'
    with pytest.raises(ValueError, match=f'expected {len(DATA) + 1}'):
        download.download_url(server.url(), target, progress=False)
    monkeypatch.setitem(download.KNOWN, server.url(), (None, hashlib.sha256(DATA).hexdigest()[:8]))
    assert download.download_url(server.url(), target, progress=False).read_bytes() == DATA

#----------------------------------------------------------------------------
# EDM2 names

@pytest.mark.parametrize('name', ['edm2-img512-xs-2147483-0.045.pkl', 'edm2-img512-xs-uncond-2147483-0.045.pkl',
                                  'edm2-img64-xxl-0268435-0.100.pkl'])
def test_edm2_url_accepts_release_names(name):
    assert download.edm2_url(name) == download.EDM2_ROOT + name


@pytest.mark.parametrize('name', ['../evil.pkl', 'edm2-img256-xs-2147483-0.045.pkl', 'edm2-img512-xs-2147483-0.045.pkl/..',
                                  'edm2-img512-xs-214748-0.045.pkl', 'edm2-img512-xs-2147483-0.05.pkl'])
def test_edm2_url_rejects_other_names(name):
    with pytest.raises(ValueError, match=re.escape(repr(name))):
        download.edm2_url(name)

#----------------------------------------------------------------------------
# Hugging Face Hub (offline)

@pytest.fixture
def offline_hub(monkeypatch, tmp_path):
    """huggingface_hub in offline mode; its constant is read at import, so it is patched too."""
    import huggingface_hub
    import huggingface_hub.constants as constants
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.setenv('HF_HOME', str(tmp_path / 'hf-home'))
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', True)
    calls = []
    real = huggingface_hub.hf_hub_download

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(huggingface_hub, 'hf_hub_download', counted)
    return calls


def test_present_hub_files_are_returned_without_network(offline_hub, tmp_path):
    folder = tmp_path / 'vae'
    for name in download.SD_VAE_FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text('{}')
    assert hub_files_present(folder, download.SD_VAE_FILES)
    paths = download_hub(download.SD_VAE_REPO, folder, files=download.SD_VAE_FILES, progress=False)
    assert paths == [folder / name for name in download.SD_VAE_FILES]
    assert offline_hub == []


def test_missing_hub_file_offline_raises_naming_repo_and_file(offline_hub, tmp_path):
    folder = tmp_path / 'sd15'
    (folder / 'model_index.json').parent.mkdir(parents=True)
    (folder / 'model_index.json').write_text('{}')
    assert not hub_files_present(folder, download.SD15_FILES)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:   # fails the test instead of hanging
        future = pool.submit(download_hub, download.SD15_REPO, folder, files=download.SD15_FILES,
                             progress=False)
        with pytest.raises(RuntimeError) as info:
            future.result(timeout=60)
    message = str(info.value)
    assert download.SD15_REPO in message and download.SD15_FILES[1] in message and str(folder) in message
    assert 'no network access' in message
    assert [call[1] for call in offline_hub] == [download.SD15_FILES[1]]
    assert not (folder / download.SD15_FILES[1]).exists()


#----------------------------------------------------------------------------
# A gated repository (Stable Diffusion 3), on a local server that answers as the Hub does

GATED_BYTES = b'{"_class_name": "StableDiffusion3Pipeline"}'
ACCEPTED = 'hf_accepted_the_licence'     # the token of an account that accepted the repository's licence


class _HubEndpoint(http.server.BaseHTTPRequestHandler):
    """The Hub's resolve endpoint (HEAD and GET of /{repo}/resolve/{revision}/{file}); subclasses `_answer`."""
    protocol_version = 'HTTP/1.1'

    def _send(self, etag, data, body):
        """A file as the Hub sends one: its commit, its ETag and its bytes (none for HEAD)."""
        self.send_response(200)
        self.send_header('X-Repo-Commit', 'a' * 40)
        self.send_header('ETag', f'"{etag}"')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data if body else b'')

    def do_HEAD(self):
        self._answer(body=False)

    def do_GET(self):
        self._answer(body=True)

    def log_message(self, *args):
        pass


class _GatedHub(_HubEndpoint):
    """The Hub's resolve endpoint for one gated repository: the file to a request with the accepted account's
    token; otherwise the Hub's refusal, 401 without a token and 403 with another, `X-Error-Code: GatedRepo`."""

    def _answer(self, body):
        self.server.tokens.append(self.headers.get('Authorization'))
        if self.headers.get('Authorization') != f'Bearer {ACCEPTED}':
            message = b'Access to model is restricted. You must have access to it and be authenticated.'
            self.send_response(403 if self.headers.get('Authorization') else 401)
            self.send_header('X-Error-Code', 'GatedRepo')
            self.send_header('X-Error-Message', message.decode())
            self.send_header('Content-Length', str(len(message)))
            self.end_headers()
            self.wfile.write(message if body else b'')
            return
        self._send(hashlib.sha256(GATED_BYTES).hexdigest(), GATED_BYTES, body)


def local_hub(monkeypatch, tmp_path, handler, **state):
    """huggingface_hub pointed at a server on 127.0.0.1 that answers with `handler` (its attributes `state`),
    online, with no token but what HF_TOKEN gives. A generator: the fixtures yield what it yields."""
    import huggingface_hub.constants as constants
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    for name, value in state.items():
        setattr(httpd, name, value)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    endpoint = f'http://127.0.0.1:{httpd.server_address[1]}'
    for name in ('HF_HUB_OFFLINE', 'HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('HF_HOME', str(tmp_path / 'hf-home'))       # no stored login either
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', False)
    monkeypatch.setattr(constants, 'HF_TOKEN_PATH', str(tmp_path / 'hf-home' / 'token'))
    monkeypatch.setattr(constants, 'HF_STORED_TOKENS_PATH', str(tmp_path / 'hf-home' / 'stored_tokens'))
    monkeypatch.setattr(constants, 'HF_HUB_CACHE', str(tmp_path / 'hf-home' / 'hub'))   # nothing from the user's cache
    monkeypatch.setattr(constants, 'ENDPOINT', endpoint)
    monkeypatch.setattr(constants, 'HUGGINGFACE_CO_URL_TEMPLATE', endpoint + '/{repo_id}/resolve/{revision}/{filename}')
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def gated_hub(monkeypatch, tmp_path):
    """A local gated repository; `gated_hub.tokens` records the Authorization of every request."""
    yield from local_hub(monkeypatch, tmp_path, _GatedHub, tokens=[])


@pytest.mark.parametrize('token', [None, 'hf_another_account'])
def test_a_refused_gated_download_names_the_licence_page_and_the_token_variable(gated_hub, tmp_path, monkeypatch, token):
    if token:
        monkeypatch.setenv('HF_TOKEN', token)
    folder = tmp_path / 'sd3'
    with pytest.raises(RuntimeError) as info:
        download_hub(download.SD3_REPO, folder, files=['model_index.json'], progress=False)
    message = str(info.value)
    assert (f'the repository is gated and refused this request (HTTP {403 if token else 401}). Accept its licence at '
            f'https://huggingface.co/{download.SD3_REPO} while logged in, then give an access token of that account '
            'in the environment variable HF_TOKEN') in message, message
    assert 'model_index.json' in message and str(folder) in message
    assert gated_hub.tokens and set(gated_hub.tokens) == {f'Bearer {token}' if token else None}
    assert not (folder / 'model_index.json').exists()


def test_a_gated_download_with_an_accepted_token_from_the_environment_fetches_the_file(gated_hub, tmp_path, monkeypatch):
    monkeypatch.setenv('HF_TOKEN', ACCEPTED)
    folder = tmp_path / 'sd3'
    paths = download_hub(download.SD3_REPO, folder, files=['model_index.json'], progress=False)
    assert paths == [folder / 'model_index.json'] and paths[0].read_bytes() == GATED_BYTES
    assert set(gated_hub.tokens) == {f'Bearer {ACCEPTED}'}


#----------------------------------------------------------------------------
# What the Hub's ETags verify: a local server that answers as the Hub's resolve endpoint does

PUBLISHED = {'model.safetensors': DATA, 'config.json': b'{"scaling_factor": 0.18215}\n'}


def hub_etag(name, data):
    """The Hub's ETag of a file: the sha256 of one kept in Git LFS (the weights), the git blob sha1 of another."""
    if name.endswith('.json'):
        return hashlib.sha1(b'blob %d\0' % len(data) + data).hexdigest()
    return hashlib.sha256(data).hexdigest()


class _Hub(_HubEndpoint):
    """The resolve endpoint of one public repository: `server.bodies[name]` under the ETag of PUBLISHED[name]."""

    def _answer(self, body):
        name = self.path.rsplit('/', 1)[1]
        self._send(hub_etag(name, PUBLISHED[name]), self.server.bodies[name], body)


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """A local public repository; `hub.bodies` is what it serves."""
    yield from local_hub(monkeypatch, tmp_path, _Hub, bodies=dict(PUBLISHED))


def test_hub_files_are_checked_against_the_hubs_etag_and_logged_as_verified(hub, tmp_path, caplog):
    folder = tmp_path / 'vae'
    with caplog.at_level(logging.INFO, logger='entropic'):
        paths = download_hub('org/vae', folder, files=list(PUBLISHED), progress=False)
    assert [p.read_bytes() for p in paths] == list(PUBLISHED.values())
    assert f'{folder / "model.safetensors"}: verified (sha256 as the Hub gave it)' in caplog.text
    assert f'{folder / "config.json"}: verified (git blob sha1 as the Hub gave it)' in caplog.text


@pytest.mark.parametrize('name', list(PUBLISHED))
def test_a_hub_file_that_differs_from_its_etag_is_deleted_and_fetched_again_by_the_next_run(hub, tmp_path, name):
    """Bytes of the right length that are not the file the Hub names (huggingface_hub compares the length only):
    for an LFS file against its sha256, for another against its git blob sha1."""
    folder = tmp_path / 'vae'
    published = PUBLISHED[name]
    hub.bodies[name] = published[::-1] if published[::-1] != published else published.upper()
    with pytest.raises(ValueError) as info:
        download_hub('org/vae', folder, files=[name], progress=False)
    message = str(info.value)
    assert f'org/vae ({name})' in message and str(folder / name) in message
    assert f'where the Hub gave {hub_etag(name, published)}' in message
    assert not (folder / name).exists()
    hub.bodies[name] = published
    assert download_hub('org/vae', folder, files=[name], progress=False)[0].read_bytes() == published


def test_a_hub_file_whose_digest_differs_from_the_one_in_the_code_is_refused(hub, tmp_path):
    """The Hub's own ETag matches, but the repository no longer holds the file the code names (its size and
    sha256 pinned): the file is deleted."""
    folder = tmp_path / 'vae'
    known = (len(DATA), hashlib.sha256(NEW).hexdigest())
    with pytest.raises(ValueError, match=f'expected {known[1]}'):
        download_hub('org/vae', folder, files=['model.safetensors'], progress=False,
                              expected={'model.safetensors': known})
    assert not (folder / 'model.safetensors').exists()


def test_a_hub_file_is_checked_against_the_table_of_known_files(hub, tmp_path, monkeypatch):
    """What the download rule's job checks of a Hub file: the size and sha256 KNOWN holds for its repository and path."""
    monkeypatch.setitem(download.KNOWN, ('org/vae', 'model.safetensors'), (len(DATA) - 1, None))
    with pytest.raises(ValueError, match=f'{len(DATA)} bytes, expected {len(DATA) - 1}'):
        download_hub('org/vae', tmp_path / 'vae', files=['model.safetensors'], progress=False)
    assert not (tmp_path / 'vae' / 'model.safetensors').exists()


#----------------------------------------------------------------------------
# A whole diffusers pipeline of the Hub (backend diffusers), on a local server that answers as the Hub does

PIPELINE_INDEX = b'{"_class_name": "DDIMPipeline", "scheduler": ["diffusers", "DDIMScheduler"], "unet": ["diffusers", "UNet2DModel"]}'
PIPELINE = {
    'model_index.json': PIPELINE_INDEX,
    'README.md': b'# a model card',
    'scheduler/scheduler_config.json': b'{"_class_name": "DDIMScheduler"}',
    'unet/config.json': b'{"_class_name": "UNet2DModel"}',
    'unet/diffusion_pytorch_model.safetensors': b'weights' * 100,
    'unet/diffusion_pytorch_model.fp16.safetensors': b'half' * 100,             # a precision variant: not fetched
    'unet/diffusion_pytorch_model.bin': b'pickled' * 100,                      # the same weights again: not fetched
    'unet/diffusion_flax_model.msgpack': b'flax' * 100,                         # another framework: not fetched
}
PIPELINE_FETCHED = ['scheduler/scheduler_config.json', 'unet/config.json', 'unet/diffusion_pytorch_model.safetensors',
                    'model_index.json']


class _PipelineHub(_HubEndpoint):
    """The Hub's resolve endpoint for one repository of `server.files`: an LFS file's ETag is its sha256, any other's
    its git blob sha1; a file in `server.corrupt` arrives with other bytes than its ETag says. Records every GET."""

    def _answer(self, body):
        if '/resolve/' not in self.path:       # huggingface_hub's other calls: not a file of the repository
            self.send_response(404)
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        name = self.path.split('/resolve/', 1)[1].split('/', 1)[1]
        data = self.server.files[name]
        lfs = name.endswith('.safetensors')
        etag = hashlib.sha256(data).hexdigest() if lfs else hashlib.sha1(b'blob %d\0' % len(data) + data).hexdigest()
        if body:
            self.server.fetched.append(name)
        self._send(etag, b'x' * len(data) if name in self.server.corrupt else data, body)


@pytest.fixture
def pipeline_hub(monkeypatch, tmp_path):
    """A local repository holding PIPELINE; the listing is what the Hub's tree API would give (HfApi.list_repo_files)."""
    import huggingface_hub
    monkeypatch.setattr(huggingface_hub.HfApi, 'list_repo_files', lambda self, repo_id, revision=None: sorted(PIPELINE))
    yield from local_hub(monkeypatch, tmp_path, _PipelineHub, files=PIPELINE, fetched=[], corrupt=set())


def test_a_hub_pipeline_is_fetched_whole_once_per_weight_and_its_index_last(pipeline_hub, tmp_path):
    folder = tmp_path / 'hub' / 'owner' / 'model'
    index = download_pipeline('owner/model', folder, progress=False)
    assert index == folder / 'model_index.json'
    fetched = pipeline_hub.fetched       # the index read first, its components' files, the index written last
    assert fetched[0] == fetched[-1] == 'model_index.json', fetched
    assert sorted(fetched[1:-1]) == sorted(PIPELINE_FETCHED[:-1]), fetched
    on_disk = sorted(str(p.relative_to(folder)) for p in folder.rglob('*') if p.is_file() and '.cache' not in p.parts)
    assert on_disk == sorted(PIPELINE_FETCHED)
    assert all((folder / name).read_bytes() == PIPELINE[name] for name in PIPELINE_FETCHED)


def test_a_pipeline_file_corrupted_on_the_way_is_deleted_and_the_index_not_written(pipeline_hub, tmp_path):
    pipeline_hub.corrupt.add('unet/diffusion_pytorch_model.safetensors')
    folder = tmp_path / 'model'
    with pytest.raises(ValueError) as info:
        download_pipeline('owner/model', folder, progress=False)
    message = str(info.value)
    assert 'unet/diffusion_pytorch_model.safetensors' in message and 'where the Hub gave' in message, message
    assert not (folder / 'unet' / 'diffusion_pytorch_model.safetensors').exists()
    assert not (folder / 'model_index.json').exists()


@pytest.mark.parametrize('listing, fetched', [
    (['unet/a.bin', 'unet/config.json'], ['unet/a.bin', 'unet/config.json']),                     # only .bin: it
    (['unet/m-00001-of-00002.safetensors', 'unet/m-00002-of-00002.safetensors', 'unet/m.safetensors.index.json',
      'unet/m-00001-of-00002.bin', 'unet/m.bin.index.json'],
     ['unet/m-00001-of-00002.safetensors', 'unet/m-00002-of-00002.safetensors', 'unet/m.safetensors.index.json']),
    (['vae/config.json', 'unet/config.json', 'other/config.json'], ['unet/config.json']),           # no vae in the index
])
def test_pipeline_files_take_the_components_of_the_index_with_their_weights_once(listing, fetched):
    index = {'_class_name': 'DDIMPipeline', 'unet': ['diffusers', 'UNet2DModel'], 'vae': [None, None]}
    assert pipeline_files(listing, index) == fetched
    assert pipeline_files(['sub/' + name for name in listing], index, 'sub/') == ['sub/' + n for n in fetched]
