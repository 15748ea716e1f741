"""A local HTTP endpoint standing in for the partner's application: records every request and
answers as the test scripts it (status, headers, body; hold the request until released; or reset
the connection without answering). `Sink(tls=True)` serves HTTPS with a self-signed certificate,
which the portal does not trust."""

import socket
import ssl
import struct
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from testing.certs import self_signed_write


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    # Read the request, then close with SO_LINGER 0: the client gets a TCP reset, no answer.
    reset: bool = False


def _self_signed_context(directory: Path) -> ssl.SSLContext:
    """A server context whose certificate (for 127.0.0.1) no public authority signed."""
    now = datetime.now(UTC)
    cert_path, key_path = self_signed_write(
        directory,
        common_name="127.0.0.1",
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=1),
        ip="127.0.0.1",
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


class Sink:
    def __init__(self, *, tls: bool = False):
        self.received: list[Received] = []
        self.answers: list[Answer] = []  # used first to last; then `default`
        self.default = Answer()
        self.hold = threading.Event()  # while cleared, requests wait (a hanging endpoint)
        self.hold.set()
        self.arrived = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with sink.arrived:
                    sink.received.append(
                        Received({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    answer = sink.answers.pop(0) if sink.answers else sink.default
                    sink.arrived.notify_all()
                if answer.reset:
                    self.close_connection = True
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.connection.close()
                    return
                sink.hold.wait(timeout=60)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls:
            with tempfile.TemporaryDirectory() as directory:
                context = _self_signed_context(Path(directory))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_port}/hooks"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 30) -> None:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout):
                raise AssertionError(f"the sink got {len(self.received)} requests, not {count}")

    def close(self) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()
