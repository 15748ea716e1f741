from apikeys.models import Scope
from apikeys.services.keys import ApiKeyIssued, api_key_create


def api_key_issue(*, scopes=None, name: str = "Test key", expires_at=None) -> ApiKeyIssued:
    """A real key through the service (the secret is only ever known from its return value)."""
    return api_key_create(
        name=name,
        scopes=list(Scope.values) if scopes is None else list(scopes),
        expires_at=expires_at,
        actor=None,
    )
