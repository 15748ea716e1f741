"""A local HTTP endpoint standing in for the partner's application: records every request and
answers as the test scripts it (status, headers, body; or hold the request until released)."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


class Sink:
    def __init__(self):
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
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
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
