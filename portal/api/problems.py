"""Errors of the partner API as RFC 9457 problem documents (`application/problem+json`), with one
entry per field for validation, and the JSON parser that refuses oversized bodies unread."""

import io

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ApiJSONRenderer(JSONRenderer):
    charset = "utf-8"


class Problem(exceptions.APIException):
    """An error with a problem type of its own (`code`) and, optionally, field errors."""

    def __init__(
        self,
        *,
        status_code: int,
        code: str,
        title: str,
        detail: str,
        errors: list[dict] | None = None,
        headers: dict | None = None,
        extra: dict | None = None,
    ):
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.problem_code = code
        self.title = title
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}


def bad_request(*, field: str, message: str, code: str = "invalid-request") -> Problem:
    return Problem(
        status_code=400,
        code=code,
        title="The request cannot be read",
        detail=message,
        errors=[{"field": field, "message": message}],
    )


def invalid(errors: dict | list | str) -> Problem:
    """422 with one entry per field, from a DRF or Django validation error's detail."""
    flat = _flatten(errors)
    return Problem(
        status_code=422,
        code="validation-error",
        title="The request has invalid fields",
        detail="; ".join(f"{e['field']}: {e['message']}" for e in flat)[:500],
        errors=flat,
    )


def conflict(message: str) -> Problem:
    return Problem(status_code=409, code="conflict", title="Not possible now", detail=message)


class TooLarge(exceptions.ParseError):
    pass


def read_bounded(stream, parser_context) -> io.BytesIO | None:
    """The body, up to the view's `max_body_bytes` (API_MAX_BODY_BYTES unless the view says); a
    larger one is refused before it is read."""
    context = parser_context or {}
    limit = int(getattr(context.get("view"), "max_body_bytes", 0) or settings.API_MAX_BODY_BYTES)
    request = context.get("request")
    declared = request.headers.get("content-length") if request is not None else None
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"The body is larger than {limit} bytes.")
    if stream is None:
        return None
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"The body is larger than {limit} bytes.")
    return io.BytesIO(data)


class BoundedJSONParser(JSONParser):
    """JSON bodies up to API_MAX_BODY_BYTES (or the view's `max_body_bytes`)."""

    def parse(self, stream, media_type=None, parser_context=None):
        return super().parse(read_bounded(stream, parser_context), media_type, parser_context)


def _flatten(detail, prefix: str = "") -> list[dict]:
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            name = "body" if key in ("non_field_errors", "__all__") else str(key)
            out.extend(_flatten(value, f"{prefix}.{name}" if prefix else name))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [{"field": prefix or "body", "message": str(item)} for item in detail]
        out = []
        for index, item in enumerate(detail):
            out.extend(_flatten(item, f"{prefix}[{index}]" if prefix else f"[{index}]"))
        return out
    return [{"field": prefix or "body", "message": str(detail)}]


_TITLES = {
    400: "The request cannot be read",
    401: "Authentication needed",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Not possible now",
    415: "Unsupported media type",
    422: "The request has invalid fields",
    429: "Too many requests",
}


def problem_response(request, *, status_code: int, body: dict, headers: dict | None = None):
    body = {
        "type": body.pop("type", "about:blank"),
        "title": body.pop("title", _TITLES.get(status_code, "Error")),
        "status": status_code,
        **body,
    }
    if request is not None:
        body.setdefault("instance", request.path)
        request_id = getattr(request, "request_id", "")
        if request_id:
            body.setdefault("request_id", request_id)
    response = Response(
        body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE
    )
    return response


def problem_exception_handler(exc, context):
    request = context.get("request")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoValidationError):
        exc = invalid(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Problem):
        body = {
            "type": f"urn:partner-portal:problem:{exc.problem_code}",
            "title": exc.title,
            "detail": str(exc.detail),
            **exc.extra,
        }
        if exc.errors:
            body["errors"] = exc.errors
        return problem_response(
            request, status_code=exc.status_code, body=body, headers=exc.headers
        )
    if isinstance(exc, exceptions.ValidationError):
        return problem_exception_handler(invalid(exc.detail), context)
    if isinstance(exc, RequestDataTooBig):
        exc = TooLarge(f"The body is larger than {int(settings.API_MAX_BODY_BYTES)} bytes.")
    if isinstance(exc, TooLarge):
        problem = bad_request(field="body", message=str(exc.detail), code="body-too-large")
        return problem_exception_handler(problem, context)
    if isinstance(exc, exceptions.ParseError):
        problem = bad_request(field="body", message=f"The body is not valid JSON: {exc.detail}")
        return problem_exception_handler(problem, context)
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            headers["WWW-Authenticate"] = 'Bearer realm="api"'
            exc.status_code = status.HTTP_401_UNAUTHORIZED
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return problem_response(
            request, status_code=exc.status_code, body={"detail": detail}, headers=headers
        )
    return None  # anything else is a bug: Django's 500 handling (and its logging) applies
