"""Connect deliveries with Basic credentials and mutual TLS (API.md 3.3): a configuration that
requires mutual TLS makes the emulator present a client certificate from its own CA."""

from __future__ import annotations

import base64
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_SEED,
    EmulatorServer,
)
from docusign_emulator.tests.conftest import bearer, config_body, connect_url, web
from docusign_emulator.tls import ensure_certificates


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("connect-mtls"))
    ensure_certificates(path)
    return path


@pytest.fixture(scope="module")
def mtls_emulator(tls_dir) -> Iterator[EmulatorServer]:
    args = ["--tls-dir", tls_dir, "--connect-ca-file", f"{tls_dir}/ca.pem"]
    with EmulatorServer(extra_args=args) as server:
        yield server


@pytest.fixture
def tls_listener(tls_dir) -> Iterator[dict]:
    """An HTTPS listener that requires a client certificate signed by the emulator's CA."""
    seen: dict = {"requests": []}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            return

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            peer = self.connection.getpeercert()
            subject = dict(item[0] for item in peer["subject"]) if peer else {}
            seen["requests"].append(
                {"client_cn": subject.get("commonName"), "auth": self.headers.get("Authorization")}
            )
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(f"{tls_dir}/server.pem", f"{tls_dir}/server-key.pem")
    context.load_verify_locations(f"{tls_dir}/ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    seen["url"] = f"https://127.0.0.1:{server.server_address[1]}/hook"
    yield seen
    server.shutdown()
    server.server_close()


def _create(server: EmulatorServer, **fields) -> None:
    token = server.control.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)["access_token"]
    body = config_body(includeHMAC="false", **fields)
    resp = web.post(connect_url(server), json=body, headers=bearer(token))
    assert resp.status_code == 200, resp.text


def test_mutual_tls_configuration_presents_the_emulator_client_certificate(
    mtls_emulator, tls_listener
):
    mtls_emulator.control.reset(seed=TEST_SEED)
    _create(
        mtls_emulator,
        urlToPublishTo=tls_listener["url"],
        requireMutualTls="true",
        userName="docusign",
        password="basic-secret",
    )
    results = mtls_emulator.control.publish_event(TEST_ACCOUNT_1_ID, "envelope-sent")
    assert [r["status"] for r in results] == ["delivered"], results
    [received] = tls_listener["requests"]
    assert received["client_cn"] == "DocuSign Connect (emulator)"
    expected = base64.b64encode(b"docusign:basic-secret").decode()
    assert received["auth"] == f"Basic {expected}"


def test_without_mutual_tls_no_certificate_is_presented_and_the_listener_refuses(
    mtls_emulator, tls_listener
):
    mtls_emulator.control.reset(seed=TEST_SEED)
    _create(mtls_emulator, urlToPublishTo=tls_listener["url"])
    results = mtls_emulator.control.publish_event(TEST_ACCOUNT_1_ID, "envelope-sent")
    assert [r["status"] for r in results] == ["failed"]
    assert tls_listener["requests"] == []
