"""Helpers shared by the token tests: counting the emulator's token calls, ageing a stored token,
refresh tokens a partner might hold (good and spoiled)."""

from datetime import timedelta

from django.utils import timezone

from docusign_emulator.testing import TEST_ADMIN_USER_ID, TEST_CLIENT_ID, TEST_SINGLE_ADMIN_USER_ID
from tenants.models import TenantToken

REFRESH = "POST /oauth/token refresh_token"
JWT = "POST /oauth/token jwt_bearer"
OTHER_KEY = "9d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6"  # an integration key other than the portal's


def token_calls(emulator, key=REFRESH) -> int:
    return emulator.calls().get(key, 0)


def expire_in_portal(tenant, *, seconds_left: int = -60) -> None:
    TenantToken.objects.filter(tenant=tenant).update(
        access_expires_at=timezone.now() + timedelta(seconds=seconds_left)
    )


def refresh_token_for(emulator, user_id=TEST_SINGLE_ADMIN_USER_ID, client_id=TEST_CLIENT_ID) -> str:
    """A real refresh token from the emulator, as a partner holding one would have it."""
    return emulator.issue_tokens(client_id, user_id)["refresh_token"]


# How an imported refresh token goes bad, and the words the refusal uses.
SPOILED_REFRESH_TOKENS = [
    ("revoke", "expired, revoked or already used"),
    ("expire", "expired, revoked or already used"),
    ("other_key", "another integration key"),
]


def spoiled_refresh_token(emulator, spoil: str) -> str:
    """A refresh token of TEST_ADMIN_USER_ID that DocuSign refuses: revoked, expired, or issued
    to another integration key."""
    if spoil == "other_key":
        emulator.seed(
            integration_keys=[{"client_id": OTHER_KEY, "secret": "other", "redirect_uris": []}]
        )
        return refresh_token_for(emulator, user_id=TEST_ADMIN_USER_ID, client_id=OTHER_KEY)
    token = refresh_token_for(emulator, user_id=TEST_ADMIN_USER_ID)
    getattr(emulator, f"{spoil}_tokens")(refresh_token=token)
    return token
