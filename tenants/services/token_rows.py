"""The token row as the token services read it, and what they hand out or raise.

Split from `tokens` (the refresh and its lock), which `token_failures` and `token_reminders`
also build on: one place for what a read of the row loads and what a caller may be handed.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from django.db.models import QuerySet

from tenants.models import Tenant, TenantAccount, TenantToken

# Tenants whose tokens are kept alive. `error` is included: it means refreshes failed for a
# while, and the next success brings the tenant back.
USABLE_STATUSES = (Tenant.Status.CONSENTED, Tenant.Status.ACTIVE, Tenant.Status.ERROR)


@dataclass(frozen=True)
class AccessToken:
    """What a caller needs for one DocuSign REST call: the token (never in a repr or log), where
    to send it, and the tenant it was read with (its integration loaded, for the client), so a
    caller that needs both reads them once."""

    token: str = field(repr=False)
    expires_at: datetime
    account_id: str
    base_uri: str
    tenant: Tenant = field(repr=False, compare=False)


class TokenUnavailable(Exception):
    """No access token can be handed out. `code` is short and safe to show staff or log."""

    def __init__(self, message: str = "", code: str = "unavailable"):
        # Both in args, so the exception pickles (Celery carries it across a retry).
        super().__init__(message, code)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


class TokenTemporarilyUnavailable(TokenUnavailable):
    """DocuSign could not refresh just now; the tenant is fine and a later try should work."""


class TokenReconsentRequired(TokenUnavailable):
    """The grant is gone (revoked, expired, consent withdrawn): the client admin must consent
    again. No DocuSign call is made for this tenant until they do."""


# What the token service reads with the token row: every token field, and of the tenant, its
# integration and account only what a refresh, a reminder or a failure uses (the integration's
# certificates and the tenant's notes stay behind; a field left out loads when touched).
_ROW_FIELDS = (
    *(f.name for f in TenantToken._meta.concrete_fields),
    "tenant__name",
    "tenant__slug",
    "tenant__status",
    "tenant__archived_at",
    "tenant__grant_mode",
    "tenant__integration__name",
    "tenant__integration__environment",
    "tenant__integration__auth_base_url",
    "tenant__integration__integration_key",
    "tenant__integration__secret_key",
    "tenant__integration__rsa_private_key",
    "tenant__account__account_id",
    "tenant__account__base_uri",
    "tenant__account__user_id",
    "tenant__account__scopes",
    "tenant__account__consented_at",
)


# What handing out a stored token needs, with the tenant a caller calls DocuSign for: none of the
# secrets a refresh uses is read (or decrypted).
_READ_FIELDS = (
    "access_token",
    "access_expires_at",
    "tenant__name",
    "tenant__slug",
    "tenant__status",
    "tenant__archived_at",
    "tenant__grant_mode",
    "tenant__integration__environment",
    "tenant__integration__auth_base_url",
    "tenant__account__account_id",
    "tenant__account__base_uri",
)


def _row_load(*, tenant_id: int, lock: bool = False) -> TenantToken:
    """The row with what a refresh needs; with `lock`, locked until the transaction ends."""
    rows = TenantToken.objects.select_related("tenant__integration", "tenant__account").only(
        *_ROW_FIELDS
    )
    if lock:
        # Lock only the token row: the tenant row is locked by tenant_status_set when needed.
        rows = rows.select_for_update(of=("self",))
    return _row_get(rows, tenant_id=tenant_id)


def _row_read(*, tenant_id: int) -> TenantToken:
    """The row with what handing out the stored access token needs."""
    rows = TenantToken.objects.select_related("tenant__integration", "tenant__account").only(
        *_READ_FIELDS
    )
    return _row_get(rows, tenant_id=tenant_id)


def _row_get(rows: QuerySet[TenantToken], *, tenant_id: int) -> TenantToken:
    try:
        return rows.get(tenant_id=tenant_id)
    except TenantToken.DoesNotExist:
        if not Tenant.objects.filter(pk=tenant_id).exists():
            raise
        raise TokenUnavailable(
            "This tenant has no DocuSign tokens yet: it has not consented.", code="not_consented"
        ) from None


def _account(tenant: Tenant) -> TenantAccount:
    try:
        return tenant.account
    except TenantAccount.DoesNotExist:
        raise TokenUnavailable(
            "This tenant has no linked DocuSign account.", code="no_account"
        ) from None


def _usable_check(tenant: Tenant) -> None:
    if tenant.status == Tenant.Status.NEEDS_RECONSENT:
        raise TokenReconsentRequired(
            "The client admin must consent again before the portal can act for this tenant.",
            code="needs_reconsent",
        )
    if tenant.is_archived or tenant.status not in USABLE_STATUSES:
        raise TokenUnavailable(
            f"The tenant is {tenant.get_status_display().lower()}: its tokens are not used.",
            code=f"status_{tenant.status}",
        )
    _account(tenant)


def _has_time_left(row: TenantToken, *, now: datetime, margin: timedelta) -> bool:
    return bool(row.access_token) and (
        row.access_expires_at is not None and row.access_expires_at - now > margin
    )


def _access_token(row: TenantToken) -> AccessToken:
    account = _account(row.tenant)
    return AccessToken(
        token=row.access_token,
        expires_at=cast(datetime, row.access_expires_at),  # only rows holding a token come here
        account_id=account.account_id,
        base_uri=account.base_uri,
        tenant=row.tenant,
    )
