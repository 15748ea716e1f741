"""Who may call the partner API: an API key in `Authorization: Bearer ppk_…`, the scope each
method of each view names, and the per-key rate limit."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.throttling import BaseThrottle

from apikeys.models import ApiKey
from apikeys.services.keys import ApiKeyRefused, api_key_authenticate
from apikeys.services.ratelimit import api_rate_take
from portal.api.problems import Problem


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != b"bearer" or len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the API key as `Authorization: Bearer ppk_…`."
            )
        try:
            presented = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The API key is malformed.") from None
        try:
            api_key = api_key_authenticate(presented=presented, request=request)
        except ApiKeyRefused as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        # No staff user: the key acts for the partner, never as whoever created it.
        return (None, api_key)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class HasScopes(BasePermission):
    """Each view maps HTTP methods to the scope they need: `required_scopes = {"GET": ...}`."""

    def has_permission(self, request, view) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            raise exceptions.NotAuthenticated(
                "An API key is needed: send `Authorization: Bearer ppk_…`."
            )
        scope = view.required_scopes.get(request.method)
        if scope is None and request.method in ("HEAD", "OPTIONS"):
            scope = view.required_scopes.get("GET")
        if scope is None:
            raise exceptions.MethodNotAllowed(request.method)
        if not api_key.has_scope(scope):
            raise Problem(
                status_code=403,
                code="missing-scope",
                title="The API key lacks a scope",
                detail=f"This needs the scope '{scope}', which the API key does not have.",
                extra={"missing_scope": str(scope)},
            )
        return True


class ApiKeyRateThrottle(BaseThrottle):
    """Requests per key per minute (API_RATE_LIMIT_PER_MINUTE), shared by every web process."""

    def allow_request(self, request, view) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True
        verdict = api_rate_take(api_key_id=api_key.pk)
        request.rate_verdict = verdict
        self._wait = verdict.retry_after
        return verdict.allowed

    def wait(self):
        return self._wait
