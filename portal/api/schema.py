"""The OpenAPI document: every operation lists the problem answers it can give, its scope, and
(for POST) the Idempotency-Key header, so a generated client knows them all."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

from apikeys.services.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH
from portal.api.base import IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY_PATTERN
from portal.api.pagination import StrictQuerySerializer
from portal.api.problems import PROBLEM_CONTENT_TYPE
from portal.api.serializers.base import ProblemSerializer, StrictSerializer

_PROBLEMS = {
    "400": "The request cannot be read: malformed JSON, an oversized body, an unknown or invalid "
    "query parameter, a bad cursor or Idempotency-Key.",
    "401": "No API key, or one that is invalid, expired or revoked.",
    "403": "The API key lacks the scope this operation needs (named in `missing_scope`).",
    "404": "No such object.",
    "409": "The object's state does not allow this, or a request with the same "
    "Idempotency-Key is still in progress.",
    "422": "Invalid fields (one entry per field in `errors`), or an Idempotency-Key reused with "
    "another body.",
    "429": "The API key's rate limit is spent; retry after `Retry-After` seconds.",
}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "ppk_<prefix>_<secret>",
            "description": "An API key created under API keys in the portal (owners and admins).",
        }


class ApiAutoSchema(AutoSchema):
    def _scope(self) -> str:
        scopes = getattr(self.view, "required_scopes", {})
        scope = scopes.get(self.method)
        return str(scope) if scope else ""

    def get_description(self) -> str:
        description = super().get_description() or ""
        scope = self._scope()
        if scope:
            description = f"{description}\n\nNeeds the scope `{scope}`.".strip()
        return description

    def get_extensions(self):
        extensions = dict(super().get_extensions() or {})
        if self._scope():
            extensions["x-required-scope"] = self._scope()
        return extensions

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method == "POST":
            parameters.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH,
                        "pattern": IDEMPOTENCY_KEY_PATTERN,
                    },
                    OpenApiParameter.HEADER,
                    required=False,
                    description="Any unique string (a UUID): a retry with the same key and body "
                    "within 24 hours returns the first answer without doing the work again.",
                )
            )
        return parameters

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(
            serializer, StrictSerializer | StrictQuerySerializer
        ):
            schema["additionalProperties"] = False  # an unknown field is refused, never dropped
        return schema

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = ["400", "401", "403", "429"]
        if "{" in self.path:
            codes.append("404")
        if self.method in ("POST", "PATCH", "DELETE"):
            codes.append("409")
        if self.method in ("POST", "PATCH"):
            codes.append("422")
        for code in codes:
            if code in responses:
                continue
            response = self._get_response_for_code(
                ProblemSerializer, code, media_types=(PROBLEM_CONTENT_TYPE,), direction=direction
            )
            response["description"] = _PROBLEMS[code]
            if code == "429" or code == "409":
                response["headers"] = _RETRY_AFTER
            responses[code] = response
        return responses
