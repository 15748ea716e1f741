"""Token upkeep: any caller gets a valid access token; refreshes happen ahead of expiry, once.

The TenantToken row is the refresh lock. Whoever finds the token (nearly) expired takes the row
with SELECT ... FOR UPDATE, re-reads it, and refreshes only if no sibling did so while it waited;
every other caller, thread or process then reuses the new token. On SQLite, where FOR UPDATE is a
no-op, the settings open every transaction as BEGIN IMMEDIATE, so the atomic block itself
serialises writers and the same code stays correct.

Why a refresh failed and what it means for the tenant: `token_failures`; reminders before a
refresh token lapses: `token_reminders`.
"""

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.models import User
from common.leases import lease_until
from common.metrics import TOKEN_REFRESHES
from common.services import audit_record
from docusign_api import DocuSignError, TokenSet
from tenants.docusign import docusign_client_for
from tenants.models import Tenant, TenantToken
from tenants.services.token_failures import (
    REFRESH_INTERRUPTED_REASON,
    TRANSIENT_ERRORS,
    tenant_token_reconsent_flag,
    token_configuration_error_record,
    token_error_code,
    token_failure_count,
    token_recovered_record,
)
from tenants.services.token_rows import (
    AccessToken,
    TokenReconsentRequired,
    TokenTemporarilyUnavailable,
    TokenUnavailable,
    _access_token,
    _account,
    _has_time_left,
    _row_load,
    _row_read,
    _usable_check,
)

logger = logging.getLogger(__name__)

# The scheduler refreshes access tokens this long before they expire, so callers almost never
# meet an expired token and have to wait for a refresh themselves.
REFRESH_AHEAD = timedelta(minutes=30)
# ACG refresh tokens that sat unused this long are exercised, so a dormant tenant's grant keeps
# renewing (with the `extended` scope each refresh restarts the 30 days).
KEEPALIVE_AFTER = timedelta(days=7)
# DocuSign issues 30-day refresh tokens and does not say so in the response (API.md 1.4).
REFRESH_TOKEN_LIFETIME = timedelta(days=30)


class _ConfigurationError(Exception):
    """The integration cannot sign the request (no secret, no RSA key): an operator must act."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


# --- the two entry points ------------------------------------------------------------------------


def token_get_valid(*, tenant_id: int, actor_label: str = "portal") -> AccessToken:
    """A valid access token for the tenant: the stored one while it has more than
    TOKEN_REFRESH_MARGIN_S left, otherwise a fresh one (refreshed here, once for all callers)."""
    row = _row_read(tenant_id=tenant_id)
    _usable_check(row.tenant)
    margin = timedelta(seconds=settings.TOKEN_REFRESH_MARGIN_S)
    if _has_time_left(row, now=timezone.now(), margin=margin):
        return _access_token(row)
    return _refresh_under_lock(
        tenant_id=tenant_id,
        is_due=lambda locked, now: not _has_time_left(locked, now=now, margin=margin),
        actor_label=actor_label,
    )


def token_refresh(
    *,
    tenant_id: int,
    force: bool = False,
    actor: User | None = None,
    actor_label: str = "scheduler",
) -> AccessToken:
    """Refresh the tenant's tokens if they are due (access token within REFRESH_AHEAD of expiry,
    or an ACG refresh token unused for KEEPALIVE_AFTER); with `force`, refresh now unless a sibling
    refreshed while this call waited for the lock. Safe to call twice."""
    is_due: Callable[[TenantToken, datetime], bool]
    if force:
        seen = TenantToken.objects.filter(tenant_id=tenant_id).values_list("generation", flat=True)
        seen_generation = seen.first()

        def is_due_forced(locked: TenantToken, now: datetime) -> bool:
            return locked.generation == seen_generation or not _has_time_left(
                locked, now=now, margin=timedelta(0)
            )

        is_due = is_due_forced
    else:
        is_due = _is_due_for_schedule
    return _refresh_under_lock(
        tenant_id=tenant_id, is_due=is_due, actor=actor, actor_label=actor_label
    )


def token_refresh_queued_mark(*, tenant_ids: list[int], after_s: float = 0) -> None:
    """Refreshes are on their way (or retry in `after_s`): the scheduler does not enqueue them
    again until their lease runs out (then they count as lost)."""
    TenantToken.objects.filter(tenant_id__in=tenant_ids).update(
        refresh_lease_expires_at=lease_until(after_s=after_s)
    )


def token_refresh_lease_release(*, tenant_id: int) -> None:
    """No refresh is on its way any more (its retries ran out): beat may enqueue it again."""
    TenantToken.objects.filter(tenant_id=tenant_id).update(refresh_lease_expires_at=None)


# --- the critical section ------------------------------------------------------------------------


def _refresh_under_lock(
    *,
    tenant_id: int,
    is_due: Callable[[TenantToken, datetime], bool],
    actor: User | None = None,
    actor_label: str,
) -> AccessToken:
    used: tuple[int, str] | None = None
    follows_interrupted = False
    try:
        # First, in its own committed transaction, the mark that a refresh call is about to be
        # sent: if this process dies while the call is in flight, the mark outlives it, and a
        # later invalid_grant for the same refresh token is known to follow a rotation we lost.
        with transaction.atomic():
            _lock_timeout_set()
            row = _row_load(tenant_id=tenant_id, lock=True)
            _usable_check(row.tenant)
            if not is_due(row, timezone.now()):
                TOKEN_REFRESHES.labels("not_due").inc()
                return _access_token(row)
            follows_interrupted = _attempt_mark(row)
        with transaction.atomic():
            _lock_timeout_set()
            row = _row_load(tenant_id=tenant_id, lock=True)
            # Re-read after acquiring: a sibling may have refreshed, or the tenant been flagged,
            # while this caller waited.
            tenant = row.tenant
            _usable_check(tenant)
            now = timezone.now()
            if not is_due(row, now):
                TOKEN_REFRESHES.labels("not_due").inc()
                return _access_token(row)
            # What this attempt started from, to tell later whether someone else replaced it.
            used = (row.generation, row.refresh_token)
            follows_interrupted = follows_interrupted and row.refresh_attempt_digest == (
                _refresh_token_digest(row.refresh_token)
            )
            # The one DocuSign call made inside an open transaction, on purpose: the row lock is
            # what guarantees one refresh per tenant (a second refresh would burn the rotated
            # refresh token). The client's timeout (DOCUSIGN_CONNECT/READ_TIMEOUT_S, a few
            # seconds) bounds how long the lock is held, and the call is never retried here.
            token_set = _token_request(row)
            was_failing = row.failure_count
            # The last statement before the commit: once DocuSign has answered, nothing else in
            # this transaction can fail and take the rotated tokens down with it. Only a crash
            # while the call is in flight can strand the tenant.
            _row_store(row, token_set=token_set, now=timezone.now())
    except DocuSignError as exc:
        return _failure_handle(
            tenant_id=tenant_id,
            exc=exc,
            used=used,
            follows_interrupted=follows_interrupted,
            actor_label=actor_label,
        )
    except _ConfigurationError as exc:
        TOKEN_REFRESHES.labels("configuration_error").inc()
        token_configuration_error_record(
            tenant_id=tenant_id, message=str(exc), code=exc.code, actor_label=actor_label
        )
        raise TokenUnavailable(str(exc), code=exc.code) from None
    except DatabaseError as exc:
        if not _is_lock_timeout(exc):
            raise
        # Another process has held the lock far longer than any DocuSign call may take (a stuck
        # connection): try later rather than queue up behind it.
        logger.warning("token refresh for tenant %s: lock wait timed out", tenant_id)
        TOKEN_REFRESHES.labels("lock_timeout").inc()
        raise TokenTemporarilyUnavailable(
            "Another refresh of this tenant is still running.", code="lock_timeout"
        ) from None
    # Routine renewals are not audit events: the token row keeps when and how often (refreshed_at,
    # generation), and a row per renewal would bury the log's real events under three per tenant
    # a day. A refresh someone asked for, or the first after failures, is recorded.
    if actor is not None or was_failing:
        audit_record(
            action="token.refresh",
            actor=actor,
            actor_label=actor_label,
            target=tenant,
            message=f"Access token renewed until {row.access_expires_at:%Y-%m-%d %H:%M} UTC"
            + (f" after {was_failing} failed attempt(s)" if was_failing else ""),
            after={"generation": row.generation},
        )
    TOKEN_REFRESHES.labels("refreshed").inc()
    if tenant.status == Tenant.Status.ERROR:
        token_recovered_record(tenant=tenant, actor_label=actor_label)
    return _access_token(row)


def _lock_timeout_set() -> None:
    """PostgreSQL: give up waiting for the row lock after twice the longest DocuSign call, so a
    wedged holder costs a retry, not a pile of blocked workers. SQLite waits `timeout` instead."""
    if connection.vendor != "postgresql":
        return
    limit_ms = int(
        (2 * (settings.DOCUSIGN_CONNECT_TIMEOUT_S + settings.DOCUSIGN_READ_TIMEOUT_S) + 5) * 1000
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = %s", [f"{limit_ms}ms"])


def _is_lock_timeout(exc: DatabaseError) -> bool:
    # 55P03 lock_not_available (psycopg exposes sqlstate on the cause).
    return getattr(exc.__cause__, "sqlstate", None) == "55P03"


def _token_request(row: TenantToken) -> TokenSet:
    tenant = row.tenant
    integration = tenant.integration
    account = _account(tenant)
    client = docusign_client_for(integration)
    if tenant.uses_jwt:
        if not integration.rsa_private_key:
            raise _ConfigurationError(
                f"Integration '{integration.name}' has no RSA private key for JWT.",
                code="no_rsa_key",
            )
        try:
            return client.oauth.jwt_user_token(
                client_id=integration.integration_key,
                user_id=account.user_id,
                private_key_pem=integration.rsa_private_key,
            )
        except ValueError:
            raise _ConfigurationError(
                f"The RSA private key of integration '{integration.name}' is not usable.",
                code="bad_rsa_key",
            ) from None
    if not row.refresh_token:
        # Nothing to refresh with: only a new consent can give this tenant tokens again.
        raise _NoRefreshToken()
    if not integration.secret_key:
        raise _ConfigurationError(
            f"Integration '{integration.name}' has no secret key.", code="no_secret_key"
        )
    return client.oauth.refresh(
        client_id=integration.integration_key,
        client_secret=integration.secret_key,
        refresh_token=row.refresh_token,
    )


def _attempt_mark(row: TenantToken) -> bool:
    """Record that a call with the row's refresh token is about to be sent; returns whether an
    earlier call with that same token was marked and never answered (its process died, or the
    answer never came back). JWT grants hold no refresh token to lose."""
    if row.tenant.uses_jwt or not row.refresh_token:
        return False
    digest = _refresh_token_digest(row.refresh_token)
    follows_interrupted = row.refresh_attempt_digest == digest
    row.refresh_attempt_digest = digest
    row.refresh_attempt_at = timezone.now()
    row.save(update_fields=["refresh_attempt_digest", "refresh_attempt_at"])
    return follows_interrupted


def _attempt_answered(*, tenant_id: int) -> None:
    """DocuSign answered the marked call (with an error): it was not cut off."""
    TenantToken.objects.filter(tenant_id=tenant_id).update(
        refresh_attempt_digest="", refresh_attempt_at=None
    )


def _refresh_token_digest(refresh_token: str) -> str:
    # A digest, not the token: the mark must say which token was sent without storing it twice.
    return hashlib.sha256(refresh_token.encode()).hexdigest()


class _NoRefreshToken(DocuSignError):
    """Treated like DocuSign's `invalid_grant`: the tenant holds no grant to refresh."""

    def __init__(self) -> None:
        super().__init__("no refresh token is stored", error_code="invalid_grant")


def _row_store(row: TenantToken, *, token_set: TokenSet, now: datetime) -> None:
    row.access_token = token_set.access_token
    row.access_expires_at = token_set.expires_at
    if token_set.refresh_token:
        # Refresh tokens rotate: the old one may already be dead, so the new one is stored in the
        # same transaction that took the lock.
        row.refresh_token = token_set.refresh_token
        refresh_expires_at = _refresh_expiry(row, token_set=token_set, now=now)
        if refresh_expires_at != row.refresh_expires_at:
            row.refresh_expires_at = refresh_expires_at
            row.lapse_reminder_sent_at = None
    row.refreshed_at = now
    row.refresh_attempt_digest = ""
    row.refresh_attempt_at = None
    row.generation += 1
    row.failure_count = 0
    row.refresh_lease_expires_at = None
    row.save(
        update_fields=[
            "refresh_lease_expires_at",
            "access_token",
            "access_expires_at",
            "refresh_token",
            "refresh_expires_at",
            "refreshed_at",
            "generation",
            "failure_count",
            "lapse_reminder_sent_at",
            "refresh_attempt_digest",
            "refresh_attempt_at",
        ]
    )


def _refresh_expiry(row: TenantToken, *, token_set: TokenSet, now: datetime) -> datetime | None:
    if token_set.refresh_expires_at is not None:
        return token_set.refresh_expires_at
    scopes = set(token_set.scopes) | set(_account(row.tenant).scopes.split())
    if "extended" in scopes:
        return now + REFRESH_TOKEN_LIFETIME
    # Without `extended` the new refresh token keeps the original expiry (API.md 1.4).
    return row.refresh_expires_at


# --- failures ------------------------------------------------------------------------------------


def _failure_handle(
    *,
    tenant_id: int,
    exc: DocuSignError,
    used: tuple[int, str] | None,
    follows_interrupted: bool,
    actor_label: str,
) -> AccessToken:
    """Record a failed refresh (token_failures says what each kind means) and raise what the
    caller should know; a terminal error after a sibling's success returns the sibling's token."""
    code = token_error_code(exc)
    if exc.status is not None:
        _attempt_answered(tenant_id=tenant_id)
    if isinstance(exc, TRANSIENT_ERRORS):
        TOKEN_REFRESHES.labels("transient").inc()
        token_failure_count(tenant_id=tenant_id, code=code)
        logger.warning("token refresh for tenant %s failed, will retry (%s)", tenant_id, code)
        raise TokenTemporarilyUnavailable(
            "DocuSign did not answer the token request; it will be tried again.", code=code
        ) from None
    if exc.is_terminal:
        with transaction.atomic():
            row = _row_load(tenant_id=tenant_id, lock=True)
            if (
                used is not None
                and (row.generation, row.refresh_token) != used
                and _has_time_left(row, now=timezone.now(), margin=timedelta(0))
            ):
                # A sibling refresh or a new consent stored new tokens meanwhile (consent does not
                # bump the generation, hence the refresh token too): ours was simply stale.
                TOKEN_REFRESHES.labels("sibling_refreshed").inc()
                return _access_token(row)
            token_failure_count(tenant_id=tenant_id, code=code)
        TOKEN_REFRESHES.labels("reconsent_required").inc()
        # invalid_grant for the very refresh token an unanswered call had sent: that call reached
        # DocuSign, which rotated the token, and its answer was lost with the process.
        interrupted = follows_interrupted and exc.error_code == "invalid_grant"
        tenant_token_reconsent_flag(
            tenant=row.tenant,
            error_code=code,
            actor_label=actor_label,
            reason=REFRESH_INTERRUPTED_REASON if interrupted else None,
        )
        raise TokenReconsentRequired(
            REFRESH_INTERRUPTED_REASON
            if interrupted
            else "DocuSign no longer accepts this tenant's grant: the client admin must consent "
            "again.",
            code=code,
        ) from None
    message = f"DocuSign refused the token request ({code})."
    TOKEN_REFRESHES.labels("refused").inc()
    token_configuration_error_record(
        tenant_id=tenant_id, message=message, code=code, actor_label=actor_label
    )
    raise TokenUnavailable(message, code=code) from None


def _is_due_for_schedule(row: TenantToken, now: datetime) -> bool:
    if not _has_time_left(row, now=now, margin=REFRESH_AHEAD):
        return True
    if row.tenant.grant_mode != Tenant.GrantMode.AUTHORIZATION_CODE or not row.refresh_token:
        return False
    last_used = row.refreshed_at or _account(row.tenant).consented_at
    return last_used is None or last_used <= now - KEEPALIVE_AFTER
