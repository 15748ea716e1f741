import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from common.outbound import OutboundRefused, outbound_post, outbound_url_check


class _Sink(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        type(self).received.append(
            {"path": self.path, "host": self.headers["Host"], "body": self.rfile.read(length)}
        )
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def sink():
    _Sink.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _Sink.received
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "starting with https://"),
        ("https:///nohost", "starting with https://"),
        ("https://user:pw@example.com/hook", "user name and password"),
        ("http://example.com/hook", "Use https://"),
        ("https://10.1.2.3/hook", "private, loopback or link-local"),
        ("https://169.254.169.254/latest", "private, loopback or link-local"),
        ("https://[::1]/hook", "private, loopback or link-local"),
        ("https://[::ffff:192.168.0.1]/hook", "private, loopback or link-local"),
        ("https://example.com:notaport/", "not a valid URL"),
    ],
)
def test_urls_that_may_not_be_called_are_refused_with_a_sentence(url, message, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    with pytest.raises(OutboundRefused, match=message):
        outbound_url_check(url)


def test_a_public_https_url_passes_the_text_check(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    outbound_url_check("https://hooks.partner.example/docusign")


def test_a_host_name_that_resolves_to_loopback_is_refused_at_call_time(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    with pytest.raises(OutboundRefused, match="resolves to a private"):
        outbound_post("https://localhost/hook", body=b"{}", headers={})


def test_allowed_development_host_is_called_and_redirects_are_not_followed(sink, settings):
    port, received = sink
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    response = outbound_post(
        f"http://127.0.0.1:{port}/redirect", body=b'{"a":1}', headers={"X-Test": "1"}
    )
    assert response.status_code == 302
    assert [r["path"] for r in received] == ["/redirect"]
    assert received[0]["body"] == b'{"a":1}'


def test_the_connection_goes_to_the_address_that_was_checked(sink, settings, monkeypatch):
    # A rebinding DNS answers differently on a second look-up; the request must not look again.
    port, received = sink
    settings.OUTBOUND_ALLOWED_HOSTS = [f"hooks.test:{port}"]
    answers = iter(["127.0.0.1", "10.9.9.9"])
    real = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        if host == "hooks.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    response = outbound_post(f"http://hooks.test:{port}/in", body=b"x", headers={})
    assert response.status_code == 204
    assert received == [{"path": "/in", "host": f"hooks.test:{port}", "body": b"x"}]


def test_an_unreachable_host_is_a_requests_error_for_the_caller_to_record(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(requests.ConnectionError):
        outbound_post(f"http://127.0.0.1:{closed_port}/", body=b"", headers={}, timeout=(1, 1))


def test_a_host_name_that_does_not_resolve_is_said_in_a_sentence(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    with pytest.raises(requests.ConnectionError) as raised:
        outbound_post("https://no-such-host.invalid/hook", body=b"", headers={}, timeout=(1, 1))
    assert str(raised.value) == "The host name no-such-host.invalid does not resolve."
