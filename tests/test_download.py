"""Downloads: complete files only, resumed transfers, checked sizes and digests, clear errors offline.

HTTP cases talk to a small server on 127.0.0.1 serving bytes from memory; Hub cases run huggingface_hub
in offline mode. Nothing here reaches the internet.
"""

import concurrent.futures
import hashlib
import http.server
import os
import re
import socket
import threading

import pytest

from entropic import download

DATA = bytes(range(256)) * 1000 + b'tail'  # 256004 bytes, no period that hides an offset error


class Server:
    """A threaded HTTP server of one byte string, with switches for range support and truncation."""

    def __init__(self, data):
        self.data = data
        self.ranges = True       # honour `Range: bytes=n-` (206); False answers 200 with everything
        self.truncate = None     # send only this many body bytes, then close (an interrupted transfer)
        self.requests = []       # the Range header of every request (None without one)
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        self.httpd.state = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)

    def url(self, name='file.bin'):
        return f'http://127.0.0.1:{self.httpd.server_address[1]}/{name}'


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_GET(self):
        state = self.server.state
        header = self.headers.get('Range')
        state.requests.append(header)
        data, start = state.data, 0
        if header is not None and state.ranges:
            start = int(re.fullmatch(r'bytes=(\d+)-', header)[1])
            if start >= len(data):
                self.send_response(416)
                self.send_header('Content-Range', f'bytes */{len(data)}')
                self.send_header('Content-Length', '0')
                self.end_headers()
                return
            self.send_response(206)
            self.send_header('Content-Range', f'bytes {start}-{len(data) - 1}/{len(data)}')
        else:
            self.send_response(200)
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

#----------------------------------------------------------------------------
# download_url

def test_full_download_gives_identical_bytes_and_no_part(server, tmp_path):
    target = tmp_path / 'sub' / 'file.bin'
    assert download.download_url(server.url(), target, progress=False, chunk_size=4096) == target
    assert target.read_bytes() == DATA
    assert not (tmp_path / 'sub' / 'file.bin.part').exists()
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


def test_checked_size_and_digest_accept_the_right_file(server, tmp_path):
    target = tmp_path / 'file.bin'
    download.download_url(server.url(), target, expected_size=len(DATA),
                          sha256=hashlib.sha256(DATA).hexdigest(), progress=False)
    assert target.read_bytes() == DATA


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
    assert '10' in str(info.value) and str(len(DATA)) in str(info.value)
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
    part.write_bytes(b'garbage that a resume would keep')
    server.ranges = False
    download.download_url(server.url(), target, progress=False)
    assert server.requests == [f'bytes={len(b"garbage that a resume would keep")}-']
    assert target.read_bytes() == DATA
    assert not part.exists()


def test_complete_part_answered_416_is_finished(server, tmp_path):
    target, part = tmp_path / 'file.bin', tmp_path / 'file.bin.part'
    part.write_bytes(DATA)
    download.download_url(server.url(), target, progress=False)
    assert server.requests == [f'bytes={len(DATA)}-']
    assert target.read_bytes() == DATA
    assert not part.exists()


def test_sha256_mismatch_deletes_the_part_and_raises(server, tmp_path):
    target = tmp_path / 'file.bin'
    with pytest.raises(ValueError, match='sha256') as info:
        download.download_url(server.url(), target, sha256='0' * 64, progress=False)
    assert server.url() in str(info.value) and str(target) in str(info.value)
    assert not target.exists()
    assert not (tmp_path / 'file.bin.part').exists()


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
    assert download.hub_files_present(folder, download.SD_VAE_FILES)
    paths = download.download_hub(download.SD_VAE_REPO, folder, files=download.SD_VAE_FILES, progress=False)
    assert paths == [folder / name for name in download.SD_VAE_FILES]
    assert offline_hub == []


def test_missing_hub_file_offline_raises_naming_repo_and_file(offline_hub, tmp_path):
    folder = tmp_path / 'sd15'
    (folder / 'model_index.json').parent.mkdir(parents=True)
    (folder / 'model_index.json').write_text('{}')
    assert not download.hub_files_present(folder, download.SD15_FILES)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:   # fails the test instead of hanging
        future = pool.submit(download.download_hub, download.SD15_REPO, folder, files=download.SD15_FILES,
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


class _GatedHub(http.server.BaseHTTPRequestHandler):
    """The Hub's resolve endpoint for one gated repository: the file to a request with the accepted account's
    token; otherwise the Hub's refusal, 401 without a token and 403 with another, `X-Error-Code: GatedRepo`."""
    protocol_version = 'HTTP/1.1'

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
        self.send_response(200)
        self.send_header('X-Repo-Commit', 'a' * 40)
        self.send_header('ETag', '"' + hashlib.sha256(GATED_BYTES).hexdigest() + '"')
        self.send_header('Content-Length', str(len(GATED_BYTES)))
        self.end_headers()
        self.wfile.write(GATED_BYTES if body else b'')

    def do_HEAD(self):
        self._answer(body=False)

    def do_GET(self):
        self._answer(body=True)

    def log_message(self, *args):
        pass


@pytest.fixture
def gated_hub(monkeypatch, tmp_path):
    """huggingface_hub pointed at a local gated repository, online, with no token but what HF_TOKEN gives."""
    import huggingface_hub.constants as constants
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _GatedHub)
    httpd.tokens = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    endpoint = f'http://127.0.0.1:{httpd.server_address[1]}'
    for name in ('HF_HUB_OFFLINE', 'HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('HF_HOME', str(tmp_path / 'hf-home'))       # no stored login either
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', False)
    monkeypatch.setattr(constants, 'HF_TOKEN_PATH', str(tmp_path / 'hf-home' / 'token'))
    monkeypatch.setattr(constants, 'HF_STORED_TOKENS_PATH', str(tmp_path / 'hf-home' / 'stored_tokens'))
    monkeypatch.setattr(constants, 'ENDPOINT', endpoint)
    monkeypatch.setattr(constants, 'HUGGINGFACE_CO_URL_TEMPLATE', endpoint + '/{repo_id}/resolve/{revision}/{filename}')
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize('token', [None, 'hf_another_account'])
def test_a_refused_gated_download_names_the_licence_page_and_the_token_variable(gated_hub, tmp_path, monkeypatch, token):
    if token:
        monkeypatch.setenv('HF_TOKEN', token)
    folder = tmp_path / 'sd3'
    with pytest.raises(RuntimeError) as info:
        download.download_hub(download.SD3_REPO, folder, files=['model_index.json'], progress=False)
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
    paths = download.download_hub(download.SD3_REPO, folder, files=['model_index.json'], progress=False)
    assert paths == [folder / 'model_index.json'] and paths[0].read_bytes() == GATED_BYTES
    assert set(gated_hub.tokens) == {f'Bearer {ACCEPTED}'}
