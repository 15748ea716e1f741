"""Helpers shared by the token tests: counting the emulator's token calls, ageing a stored token."""

from datetime import timedelta

from django.utils import timezone

from tenants.models import TenantToken

REFRESH = "POST /oauth/token refresh_token"
JWT = "POST /oauth/token jwt_bearer"


def token_calls(emulator, key=REFRESH) -> int:
    return emulator.calls().get(key, 0)


def expire_in_portal(tenant, *, seconds_left: int = -60) -> None:
    TenantToken.objects.filter(tenant=tenant).update(
        access_expires_at=timezone.now() + timedelta(seconds=seconds_left)
    )
