"""The Connect receiver's HTTP front: DocuSign posts each event (JSON SIM) here, and gets 200 only
once the event's row is committed. A plain Django view behind the whole middleware chain (security
headers, Host check, request id); CSRF-exempt because every message carries its own credentials
(HMAC, Bearer or Basic), checked by the receiver."""

import logging

from django.conf import settings
from django.db import DatabaseError, DataError
from django.http import HttpRequest, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from common.metrics import (
    CONNECT_EVENTS_RECEIVED,
    CONNECT_EVENTS_REJECTED,
    connect_event_rejected_count,
)
from events.errors import EventRejected
from events.services.receiver import connect_event_receive

logger = logging.getLogger("portal.views.events")


def json_error(message: str, status: int, **headers: str) -> JsonResponse:
    """{"error": message} with `status`: how the machine endpoints (this one and the OAuth token
    endpoint beside it) refuse a request."""
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


class JsonPostOnlyView(View):
    """POST only; anything else answers 405 in JSON."""

    http_method_names = ["post", "options"]

    def http_method_not_allowed(self, request, *args, **kwargs):
        return json_error("Only POST is accepted here.", 405, Allow="POST")


@method_decorator(csrf_exempt, name="dispatch")
class ConnectHookView(JsonPostOnlyView):
    def post(self, request: HttpRequest) -> JsonResponse:
        try:
            body = _body_read(request, settings.CONNECT_EVENT_MAX_BYTES)
            received = connect_event_receive(body=body, meta=request.META)
        except EventRejected as exc:
            logger.info("Connect event rejected (%s): %s", exc.status, exc.message)
            connect_event_rejected_count(status=exc.status)
            return json_error(exc.message, exc.status)
        except DataError:
            # A value the database refuses (an unpaired UTF-16 surrogate in a string): retrying
            # cannot help, so not a 503.
            logger.info("Connect event rejected (400): a value the database cannot store")
            CONNECT_EVENTS_REJECTED.labels("unstorable").inc()
            return json_error("The message holds a value that cannot be stored.", 400)
        except DatabaseError:
            logger.exception("Connect event not stored: database unavailable")
            CONNECT_EVENTS_REJECTED.labels("database_unavailable").inc()
            # DocuSign retries anything but 2xx, so nothing is lost while the database is down.
            return json_error(
                "The event could not be stored; retry later.", 503, **{"Retry-After": "60"}
            )
        status = "duplicate" if received.duplicate else "stored"
        CONNECT_EVENTS_RECEIVED.labels(status).inc()
        return JsonResponse({"status": status, "id": received.event_id})


def _body_read(request: HttpRequest, limit: int) -> bytes:
    """The raw body, refusing a declared or actual length over `limit` without buffering more."""
    try:
        declared = int(request.headers.get("content-length") or 0)
    except ValueError:
        raise EventRejected("The Content-Length header is malformed.", status=400) from None
    if declared > limit:
        raise EventRejected("The message is larger than this listener accepts.", status=413)
    body = request.read(limit + 1)
    if len(body) > limit:
        raise EventRejected("The message is larger than this listener accepts.", status=413)
    return body
