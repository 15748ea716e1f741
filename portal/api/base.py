"""The base of every partner API view: the acting key named in the audit log, rate-limit headers,
idempotent POSTs, and problem documents for every error, including our own bugs. Below it, the
three shapes most views take: a cursor page of rows, one object, an action on one object."""

import json
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.services.idempotency import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IdempotencyInProgress,
    IdempotencyMismatch,
    Replay,
    idempotency_begin,
    idempotency_finish,
    idempotency_release,
    request_fingerprint,
)
from common.services import current_actor_label
from portal.api.pagination import PageQuerySerializer, cursor_page, query_params
from portal.api.problems import (
    PROBLEM_CONTENT_TYPE,
    Problem,
    bad_request,
    conflict,
    problem_response,
)
from tenants.models import Tenant
from tenants.selectors.tenants import tenant_get

logger = logging.getLogger(__name__)
T = TypeVar("T")

IDEMPOTENCY_HEADER = "Idempotency-Key"
# Visible ASCII, spaces only inside: what survives every HTTP client and proxy unchanged.
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"
# Headers of the first answer worth replaying.
_REPLAYED_HEADERS = ("Location",)


class _ReplayAnswer(Exception):
    def __init__(self, response: Response):
        self.response = response


class ApiView(APIView):
    required_scopes: dict = {}
    # Fields of the answer shown once (a new secret): a replayed answer has them null.
    shown_once_fields: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        self._claim = None
        self._label_token = None
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            if self._claim is not None:  # the request died before an answer was kept
                idempotency_release(claim=self._claim)
            if self._label_token is not None:
                current_actor_label.reset(self._label_token)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._label_token = current_actor_label.set(request.auth.label)
        if request.method == "POST":
            self._idempotency_begin(request)

    def _idempotency_begin(self, request) -> None:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return
        if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not re.match(IDEMPOTENCY_KEY_PATTERN, key):
            raise bad_request(
                field=IDEMPOTENCY_HEADER,
                message=f"Use 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII characters.",
            )
        body = json.dumps(request.data, sort_keys=True, separators=(",", ":")).encode()
        # The query string too: the same body with another `?integration=` is another request.
        fingerprint = request_fingerprint(
            method=request.method, path=request.get_full_path(), body=body
        )
        try:
            outcome = idempotency_begin(api_key=request.auth, key=key, fingerprint=fingerprint)
        except IdempotencyMismatch:
            raise Problem(
                status_code=422,
                code="idempotency-key-reused",
                title="The Idempotency-Key was used for another request",
                detail="This Idempotency-Key was first sent with a different request body or "
                "path; use a new key for a new request.",
                errors=[{"field": IDEMPOTENCY_HEADER, "message": "Used for another request."}],
            ) from None
        except IdempotencyInProgress:
            raise Problem(
                status_code=409,
                code="idempotency-key-in-progress",
                title="A request with this Idempotency-Key is in progress",
                detail="The first request with this Idempotency-Key has not finished; retry "
                "shortly to receive its answer.",
                headers={"Retry-After": "1"},
            ) from None
        if isinstance(outcome, Replay):
            content_type = PROBLEM_CONTENT_TYPE if outcome.status_code >= 400 else None
            response = Response(
                outcome.body,
                status=outcome.status_code,
                headers={**outcome.headers, "Idempotent-Replayed": "true"},
                content_type=content_type,
            )
            raise _ReplayAnswer(response)
        self._claim = outcome

    def handle_exception(self, exc):
        if isinstance(exc, _ReplayAnswer):
            return exc.response
        try:
            return super().handle_exception(exc)
        except Exception as uncaught:
            return server_error_problem(self.request, uncaught)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        verdict = getattr(request, "rate_verdict", None)
        if verdict is not None:
            response["X-RateLimit-Limit"] = str(verdict.limit)
            response["X-RateLimit-Remaining"] = str(verdict.remaining)
        claim, self._claim = self._claim, None
        if claim is not None:
            if response.status_code >= 500:
                idempotency_release(claim=claim)
            else:
                body = json.loads(JSONRenderer().render(response.data) or b"null")
                if isinstance(body, dict):
                    body.update({f: None for f in self.shown_once_fields if f in body})
                headers = {h: response[h] for h in _REPLAYED_HEADERS if response.has_header(h)}
                idempotency_finish(
                    claim=claim, status_code=response.status_code, body=body, headers=headers
                )
        return response


def server_error_problem(request, exc) -> Response:
    """Our own bug, as a problem document; the exception is logged (never a secret: our code)."""
    logger.exception("Partner API error on %s %s", request.method, request.path)
    return problem_response(
        request,
        status_code=500,
        body={
            "title": "Internal error",
            "detail": "Something went wrong on our side; the request id helps support find it.",
        },
    )


def object_or_404(selector: Callable[..., T], missing: str, **kwargs: Any) -> T:
    """`selector(**kwargs)`, or a 404 saying `missing` when it finds nothing (DoesNotExist)."""
    try:
        return selector(**kwargs)
    except ObjectDoesNotExist:
        raise NotFound(missing) from None


def tenant_or_404(tenant_id: int) -> Tenant:
    """The tenant an API path names, or a 404 saying no tenant has this id."""
    return object_or_404(tenant_get, "No tenant has this id.", tenant_id=tenant_id)


# The bases below carry comments, not docstrings: drf-spectacular would print a base's docstring
# as the description of every operation that inherits it. Subclasses describe the inherited
# method with `extend_schema_view(get=extend_schema(...))` (or `post=`).


# GET: one cursor page of `rows()`, each in `row_serializer`'s shape, ordered by `order`
# ([(field, descending)], ending with a unique field) and named `sort_name` in the cursor.
class PageView(ApiView, ABC):
    row_serializer: type[serializers.Serializer]
    query_serializer: type[serializers.Serializer] = PageQuerySerializer
    order: list[tuple[str, bool]] = [("pk", False)]
    sort_name = "id"

    @abstractmethod
    def rows(self, params: dict, **url_kwargs) -> QuerySet: ...

    def keyset(self, params: dict) -> tuple[list[tuple[str, bool]], str]:
        return self.order, self.sort_name

    def get(self, request, **url_kwargs):
        params = query_params(self.query_serializer, request)
        order, sort_name = self.keyset(params)
        rows, next_cursor = cursor_page(
            self.rows(params, **url_kwargs),
            order=order,
            sort_name=sort_name,
            cursor=params.get("cursor"),
            limit=params["limit"],
        )
        return Response(
            {"results": self.row_serializer(rows, many=True).data, "next_cursor": next_cursor}
        )


# GET: the object the URL names (`get_object`, a 404 when there is none) in `answer_serializer`'s
# shape.
class ObjectView(ApiView, ABC):
    answer_serializer: type[serializers.Serializer]

    @abstractmethod
    def get_object(self, **url_kwargs) -> Any: ...

    def get(self, request, **url_kwargs):
        return Response(self.answer_serializer(self.get_object(**url_kwargs)).data)


# POST: `act` on the object the URL names (`get_object`, a 404 when there is none); a service
# refusing (one of `refusals`) is a 409 saying why.
class ActionView(ApiView, ABC):
    refusals: tuple[type[Exception], ...] = ()

    @abstractmethod
    def get_object(self, **url_kwargs) -> Any: ...

    @abstractmethod
    def act(self, request, obj) -> Response: ...

    def post(self, request, **url_kwargs):
        obj = self.get_object(**url_kwargs)
        try:
            return self.act(request, obj)
        except self.refusals as exc:
            raise conflict(str(exc)) from None
