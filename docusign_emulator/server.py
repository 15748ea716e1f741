"""The HTTP server and the routing: one threaded server answers the account server, every REST
base URI (`/<shard>/restapi/...`) and the control plane (`/_emulator/...`)."""

from __future__ import annotations

import contextlib
import logging
import random
import re
import socket
import ssl
import struct
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from docusign_emulator import (
    authorize,
    connect,
    control,
    control_connect,  # noqa: F401 - registers its routes on import
    control_envelopes,  # noqa: F401 - registers its routes on import
    control_tokens,  # noqa: F401 - registers its routes on import
    oauth,
)
from docusign_emulator import errors as e
from docusign_emulator.publisher import Publisher
from docusign_emulator.state import Store
from docusign_emulator.wire import Request, Response, html_response, json_response

log = logging.getLogger("docusign_emulator")

REST_RE = re.compile(r"^/(?P<shard>[^/]+)/restapi/v2\.1/accounts/(?P<account>[^/]+)(?P<rest>/.*)?$")
OAUTH_ROUTES: dict[tuple[str, str], Callable[[Emulator, Request], Response]] = {
    ("GET", "/oauth/auth"): authorize.authorize_get,
    ("POST", "/oauth/auth"): authorize.authorize_post,
    ("POST", "/oauth/token"): oauth.token,
    ("GET", "/oauth/userinfo"): oauth.userinfo,
}
TRACE_HEADER = "X-DocuSign-TraceToken"
FAULT_HTML = (
    "<html><head><title>503 Service Temporarily Unavailable</title></head>"
    "<body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"
)


class Emulator:
    """Everything a request needs: the store, the public addresses and the publisher."""

    def __init__(self, store: Store, public_url: str = "http://127.0.0.1:8765"):
        self.store = store
        self.publisher = Publisher(store)
        self.set_public_url(public_url)

    def set_public_url(self, public_url: str) -> None:
        self.public_url = public_url.rstrip("/")
        # The auth host is the bare host:port (docs/contracts.md 1); JWT `aud` must equal it.
        self.auth_host = urlsplit(self.public_url).netloc

    def base_uri(self, shard: str) -> str:
        return f"{self.public_url}/{shard}"

    # --- dispatch ------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        response = self._handle(req)
        # API.md 4: DocuSign sends a GUID trace token; every response here carries one, the
        # account server's and error responses included.
        if not any(name.lower() == TRACE_HEADER.lower() for name, _ in response.headers):
            response.headers.append((TRACE_HEADER, str(uuid.uuid4())))
        return response

    def _handle(self, req: Request) -> Response:
        family = _family(req.path)
        try:
            if req.too_large:
                raise _too_large(family)
            if family == "control":
                return control.dispatch(self, req)
            keys, account_id = self._call_keys(req)
            fault = self._count_and_pick_fault(keys, account_id)
            latency = self.store.config.get("latency_ms", 0)
            if latency:
                time.sleep(latency / 1000.0)  # outside the lock on purpose
            if fault is not None:
                return self._apply_fault(fault, family)
            return self._route(req, family)
        except e.EmulatorError as err:
            return json_response(err.status, err.body(), getattr(err, "headers", None))
        except Exception:
            log.error("unhandled error for %s %s\n%s", req.method, req.path, traceback.format_exc())
            internal: e.EmulatorError
            if family == "oauth":
                internal = e.OAuthError("server_error", "internal error", status=500)
            elif family == "control":
                internal = e.ControlError("internal error", status=500)
            else:
                internal = e.RestError(500, "UNSPECIFIED_ERROR", "An internal error occurred.")
            return json_response(internal.status, internal.body())

    def _route(self, req: Request, family: str) -> Response:
        if family == "oauth":
            handler = OAUTH_ROUTES.get((req.method, req.path))
            if handler is None:
                raise e.OAuthError(e.INVALID_REQUEST, "unknown endpoint", status=404)
            return handler(self, req)
        match = REST_RE.match(req.path)
        if match is None:
            raise e.rest(404, e.RESOURCE_NOT_FOUND)
        return connect.dispatch(self, req, match["shard"], match["account"], match["rest"] or "")

    # --- call counters and faults ----------------------------------------------------------
    def _call_keys(self, req: Request) -> tuple[list[str], str | None]:
        match = REST_RE.match(req.path)
        if match is not None:
            key = f"{req.method} {connect.route_key(match['rest'] or '')}"
            return [key], match["account"]
        keys = [f"{req.method} {req.path}"]
        if req.path == "/oauth/token":
            with contextlib.suppress(ValueError):
                grant = req.form().get("grant_type")
                if grant:
                    keys.append(f"{keys[0]} {oauth.GRANT_NAMES.get(grant, grant)}")
        return keys, None

    def _count_and_pick_fault(self, keys: list[str], account_id: str | None) -> dict | None:
        store = self.store
        with store.lock:
            for key in keys:
                store.calls[key] = store.calls.get(key, 0) + 1
                if account_id:
                    per = store.calls_by_account.setdefault(account_id, {})
                    per[key] = per.get(key, 0) + 1
            for fault in store.faults:
                if fault["count"] > 0 and (fault["match"] == "*" or fault["match"] in keys):
                    fault["count"] -= 1
                    chosen = dict(fault)
                    store.faults = [f for f in store.faults if f["count"] > 0]
                    return chosen
            rate = float(store.config.get("error_rate") or 0.0)
        if rate and random.random() < rate:  # noqa: S311 - fault injection, not security
            return {"kind": "status", "status": 503}
        return None

    def _apply_fault(self, fault: dict, family: str) -> Response:
        kind = fault.get("kind", "status")
        status = int(fault.get("status") or 503)
        if kind == "reset":
            return Response(abort=True)
        if kind == "timeout":
            time.sleep(float(fault.get("delay_s") or 30))
            return Response(abort=True)
        if kind == "html":
            return html_response(status, FAULT_HTML)
        if fault.get("delay_s"):
            time.sleep(float(fault["delay_s"]))
        if family == "oauth":
            return json_response(
                status, {"error": "temporarily_unavailable", "error_description": "injected fault"}
            )
        code = "SERVICE_UNAVAILABLE" if status >= 500 else "INJECTED_FAULT"
        if status == 429:
            return json_response(status, e.rest(status, e.BURST_LIMIT).body())
        return json_response(status, {"errorCode": code, "message": "Injected fault."})


def _family(path: str) -> str:
    if path.startswith("/_emulator/") or path == "/_emulator":
        return "control"
    if path.startswith("/oauth/"):
        return "oauth"
    return "rest"


def _too_large(family: str) -> e.EmulatorError:
    if family == "oauth":
        return e.OAuthError(e.INVALID_REQUEST, "request body too large", status=413)
    if family == "control":
        return e.ControlError("request body too large", status=413)
    return e.rest(413, e.BODY_TOO_LARGE)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DocuSignEmulator/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 300  # idle keep-alive connections end eventually
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            # The handshake runs here, in the worker thread, so a slow client never blocks accept().
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(self.timeout)

    def handle(self) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError, OSError):
            super().handle()

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def _serve(self) -> None:
        app = self.server.app
        split = urlsplit(self.path)
        limit = int(app.store.config.get("max_body_bytes", 1024 * 1024))
        too_large = False
        body = b""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            too_large = True  # we do not read chunked bodies; answer and close
        else:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = limit + 1
            if length > limit or length < 0:
                too_large = True
            elif length:
                body = self.rfile.read(length)
        try:
            query = parse_qsl(split.query, keep_blank_values=True)
        except ValueError:
            query = []
        req = Request(
            method=self.command,
            path=split.path,
            query=query,
            headers=self.headers if isinstance(self.headers, Message) else Message(),
            body=body,
            too_large=too_large,
        )
        resp = app.handle(req)
        if resp.abort:
            self._abort()
            return
        self.send_response_only(resp.status)
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        for name, value in resp.headers:
            self.send_header(name, value)
        if resp.close or too_large:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    def _abort(self) -> None:
        """Drop the connection with a TCP reset, as a failing load balancer would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.request.close()


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # 200+ concurrent clients must not see "connection refused"

    def __init__(
        self, address: tuple[str, int], app: Emulator, ssl_context: ssl.SSLContext | None = None
    ):
        self.app = app
        self.ssl_context = ssl_context
        super().__init__(address, Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            )
        return sock, addr


def make_server(
    store: Store,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    public_url: str | None = None,
) -> EmulatorHTTPServer:
    app = Emulator(store)
    server = EmulatorHTTPServer((host, port), app, ssl_context)
    scheme = "https" if ssl_context else "http"
    app.set_public_url(public_url or f"{scheme}://{host}:{server.server_address[1]}")
    return server


def serve_in_thread(server: EmulatorHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="emulator-http", daemon=True)
    thread.start()
    return thread
