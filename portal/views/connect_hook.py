"""The Connect receiver's HTTP front: DocuSign posts each event (JSON SIM) here, and gets 200 only
once the event's row is committed.

One function, `connect_hook_answer`, turns a delivery into its answer. Two doors lead to it:

- `ConnectHookLane`, the production entry (portal/wsgi.py), answers `POST` on the receiver's URL
  itself and hands every other request to Django. DocuSign delivers in bursts, and measured on one
  machine (bench/events.py) Django's request cycle around this one call (middleware chain, URL
  resolution, view dispatch, signal dispatch through the handler) cost more CPU than verifying
  and storing the event. The lane keeps the parts of that cycle that matter here and reuses
  Django's own code for them: the WSGIRequest (Host checked against ALLOWED_HOSTS, proxy and
  scheme settings), SecurityMiddleware (the HTTPS redirect is left to Django; the security
  headers are asked of it), the request id, the tidying of database connections after a request
  (close_old_connections) and Django's handling of an unexpected exception (logged, 500). A test
  compares the two doors' headers.
- `ConnectHookView`, the same answer as a Django view: what the URLconf names `connect-hook`, so
  what the test client, Django's live server and any server not started on portal/wsgi.py reach.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus

from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIRequest
from django.db import DatabaseError, DataError, close_old_connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.security import SecurityMiddleware
from django.urls import get_resolver
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from common.middleware import current_request_id, request_id_choose
from events.errors import EventRejected
from events.services.receiver import connect_event_receive

logger = logging.getLogger("portal.views.events")
_REASONS = {status.value: status.phrase for status in HTTPStatus}


@dataclass(frozen=True)
class HookAnswer:
    status: int
    body: dict
    headers: dict = field(default_factory=dict)


def connect_hook_answer(request: HttpRequest) -> HookAnswer:
    try:
        body = _body_read(request, settings.CONNECT_EVENT_MAX_BYTES)
        received = connect_event_receive(body=body, meta=request.META)
    except EventRejected as exc:
        logger.info("Connect event rejected (%s): %s", exc.status, exc.message)
        return HookAnswer(exc.status, {"error": exc.message})
    except DataError:
        # A value the database refuses (say, an unpaired UTF-16 surrogate in a string):
        # retrying cannot help, so not a 503.
        logger.info("Connect event rejected (400): a value the database cannot store")
        return HookAnswer(400, {"error": "The message holds a value that cannot be stored."})
    except DatabaseError:
        logger.exception("Connect event not stored: database unavailable")
        # DocuSign retries anything but 2xx, so nothing is lost while the database is down.
        return HookAnswer(
            503, {"error": "The event could not be stored; retry later."}, {"Retry-After": "60"}
        )
    status = "duplicate" if received.duplicate else "stored"
    return HookAnswer(200, {"status": status, "id": received.event_id})


def _body_read(request: HttpRequest, limit: int) -> bytes:
    """The raw body, refusing a declared or actual length over `limit` without buffering more."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise EventRejected("The Content-Length header is malformed.", status=400) from None
    if declared > limit:
        raise EventRejected("The message is larger than this listener accepts.", status=413)
    body = request.read(limit + 1)
    if len(body) > limit:
        raise EventRejected("The message is larger than this listener accepts.", status=413)
    return body


def _json_response(answer: HookAnswer) -> JsonResponse:
    response = JsonResponse(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return response


def json_error(message: str, status: int, **headers) -> JsonResponse:
    """{"error": message} with `status`: how the machine endpoints (this one and the OAuth token
    endpoint beside it) refuse a request."""
    return _json_response(HookAnswer(status, {"error": message}, headers))


class JsonPostOnlyView(View):
    """POST only; anything else answers 405 in JSON."""

    http_method_names = ["post", "options"]

    def http_method_not_allowed(self, request, *args, **kwargs):
        return json_error("Only POST is accepted here.", 405, Allow="POST")


@method_decorator(csrf_exempt, name="dispatch")
class ConnectHookView(JsonPostOnlyView):
    def post(self, request):
        return _json_response(connect_hook_answer(request))


class ConnectHookLane:
    """WSGI: `POST` on the receiver's URL answered here, everything else by `django_app`."""

    def __init__(self, django_app: Callable):
        self.django_app = django_app
        self._path: str | None = None
        self._security: SecurityMiddleware | None = None
        self._security_headers: dict[bool, list[tuple[str, str]]] = {}

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != self._hook_path():
            return self.django_app(environ, start_response)
        request = WSGIRequest(environ)
        if self._security_middleware().redirect and not request.is_secure():
            # SECURE_SSL_REDIRECT: Django redirects (or serves an exempt path) as for any URL.
            return self.django_app(environ, start_response)
        try:
            status, headers, content = self._answer(request)
        finally:
            # What Django's request_finished receivers do for a request that uses only the
            # database (no cache, no URLconf change; DEBUG's query log is the other door's
            # business): close a connection that is too old or broke, and make the next query
            # of a reused one check it first when health checks are on. Django also runs this
            # when a request starts; at the end of every request is enough for both.
            close_old_connections()
        start_response(status, headers)
        return [content]

    def _answer(self, request: WSGIRequest) -> tuple[str, list[tuple[str, str]], bytes]:
        request_id = request_id_choose(request.META.get("HTTP_X_REQUEST_ID", ""))
        token = current_request_id.set(request_id)
        try:
            request.get_host()  # DisallowedHost for a Host outside ALLOWED_HOSTS
            answer = connect_hook_answer(request)
        except Exception as exc:  # as Django's handler does: logged, 400 or 500, signal sent
            response = response_for_exception(request, exc)
            headers = [*response.items()]
            status, content = response.status_code, response.content
        else:
            content = json.dumps(answer.body).encode()
            headers = [("Content-Type", "application/json"), *answer.headers.items()]
            status = answer.status
        finally:
            current_request_id.reset(token)
        headers += [
            ("Content-Length", str(len(content))),
            ("X-Request-ID", request_id),
            *self._security_headers_for(request.is_secure()),
        ]
        return f"{status} {_REASONS[status]}", headers, content

    def _hook_path(self) -> str:
        # Resolved on first use (the URLconf imports views). PATH_INFO excludes SCRIPT_NAME, so
        # the path is the resolver's own, without the script prefix `reverse` would add.
        if self._path is None:
            self._path = "/" + get_resolver().reverse("connect-hook")
        return self._path

    def _security_middleware(self) -> SecurityMiddleware:
        # Built once from settings, as Django builds its middleware once.
        if self._security is None:
            self._security = SecurityMiddleware(get_response=lambda request: None)
        return self._security

    def _security_headers_for(self, secure: bool) -> list[tuple[str, str]]:
        """The headers SecurityMiddleware adds to a response, asked of SecurityMiddleware itself
        once per kind of request (HSTS only over HTTPS), so the two doors cannot drift apart;
        and X-Frame-Options, as MachineEndpointMiddleware sets it on the other door."""
        if secure not in self._security_headers:
            probe = HttpRequest()
            probe.is_secure = lambda: secure
            response = self._security_middleware().process_response(probe, HttpResponse())
            before = set(HttpResponse().headers)
            self._security_headers[secure] = [
                (name, value) for name, value in response.items() if name not in before
            ] + [("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper())]
        return self._security_headers[secure]
