"""A request id on every request, log line and audit row, so one support ticket finds everything."""

import logging
import re
import uuid
from contextvars import ContextVar

from django.conf import settings

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="")
_VALID_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id_choose(incoming: str) -> str:
    """The caller's X-Request-ID when it is a sane one (so a proxy's id carries through), else a
    new one."""
    return incoming if _VALID_INCOMING_ID.match(incoming) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_choose(request.headers.get("X-Request-ID", ""))
        request.request_id = request_id
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get() or "-"
        return True


# --- machine endpoints ---------------------------------------------------------------------------

_MACHINE_ENDPOINT_URL_NAMES: set[str] = set()


def machine_endpoint_register(url_name: str) -> None:
    """Mark a URL (by name, no arguments) as a machine-to-machine endpoint that
    `MachineEndpointMiddleware` answers directly. Call it from an AppConfig.ready()."""
    _MACHINE_ENDPOINT_URL_NAMES.add(url_name)


class MachineEndpointMiddleware:
    """Answers registered machine endpoints (webhooks) right here, skipping the middleware below
    this one and the URL resolver.

    Django runs every middleware for every request. A webhook such as the Connect receiver is
    called by DocuSign, not a browser: it reads no session, user, message or htmx header, is
    CSRF-exempt by design (it authenticates each message by HMAC, Bearer or Basic), and no login
    happens there for Axes to count. Running those layers for it only costs time on the hottest
    path. What still matters for it stays: SecurityMiddleware, WhiteNoise and RequestIdMiddleware
    sit above this one and run as usual (HSTS, nosniff, referrer policy, SSL redirect, request id
    in the logs); the Host header is validated against ALLOWED_HOSTS as CommonMiddleware would;
    and the X-Frame-Options header XFrameOptionsMiddleware adds is set here too. Exceptions
    raised by the view become responses exactly as they would further down (Django wraps each
    middleware in the same exception handler).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self._views: dict[str, object] | None = None

    def _endpoints(self) -> dict[str, object]:
        # Resolved on first use: the URLconf imports views, which may not be ready at start-up.
        if self._views is None:
            from django.urls import get_script_prefix, resolve, reverse

            views = {}
            for name in _MACHINE_ENDPOINT_URL_NAMES:
                # `reverse` includes the script prefix, as `request.path` does; `resolve` does not.
                path = reverse(name)
                views[path] = resolve(path[len(get_script_prefix()) - 1 :]).func
            self._views = views
        return self._views

    def __call__(self, request):
        view = self._endpoints().get(request.path)
        if view is None:
            return self.get_response(request)
        request.get_host()  # DisallowedHost (400) for a Host outside ALLOWED_HOSTS
        response = view(request)
        if response.get("X-Frame-Options") is None:
            response["X-Frame-Options"] = getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()
        return response
