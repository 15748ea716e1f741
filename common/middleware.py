"""A request id on every request, log line and audit row, so one support ticket finds everything."""

import logging
import re
import uuid
from contextvars import ContextVar

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
