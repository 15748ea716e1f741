"""Token upkeep: any caller gets a valid access token; refreshes happen ahead of expiry, once.

The TenantToken row is the refresh lock. Whoever finds the token (nearly) expired takes the row
with SELECT ... FOR UPDATE, re-reads it, and refreshes only if no sibling did so while it waited;
every other caller, thread or process then reuses the new token. On SQLite, where FOR UPDATE is a
no-op, the settings open every transaction as BEGIN IMMEDIATE, so the atomic block itself
serialises writers and the same code stays correct.

Failures fall in three groups (the client's taxonomy, `docusign_api.errors`):
- transient (DocuSign unavailable, rate limited, timed out): `TokenTemporarilyUnavailable`; the
  tenant stays healthy, the failure is counted, the scheduler retries with backoff;
- terminal (`invalid_grant`, `consent_required`, `unauthorized_client`): the tenant needs a human:
  status `needs_reconsent`, staff told once, no more calls until someone consents again;
- anything else (a missing secret or RSA key, a request DocuSign calls malformed): status `error`
  with the reason; an operator fixes the integration.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from common.models import AuditEvent
from common.services import audit_record
from docusign_api import (
    DocuSignError,
    DocuSignRateLimited,
    DocuSignUnavailable,
    TokenSet,
)
from tenants.docusign import docusign_client_for
from tenants.models import Tenant, TenantAccount, TenantStatusChange, TenantToken
from tenants.services.status import tenant_status_set

logger = logging.getLogger(__name__)

# Tenants whose tokens are kept alive. `error` is included: it means refreshes failed for a
# while, and the next success brings the tenant back.
USABLE_STATUSES = (Tenant.Status.CONSENTED, Tenant.Status.ACTIVE, Tenant.Status.ERROR)
HEALTHY_STATUSES = (Tenant.Status.CONSENTED, Tenant.Status.ACTIVE)

# The scheduler refreshes access tokens this long before they expire, so callers almost never
# meet an expired token and have to wait for a refresh themselves.
REFRESH_AHEAD = timedelta(minutes=30)
# ACG refresh tokens that sat unused this long are exercised, so a dormant tenant's grant keeps
# renewing (with the `extended` scope each refresh restarts the 30 days).
KEEPALIVE_AFTER = timedelta(days=7)
# Staff are reminded this long before a refresh token (and so the tenant's access) lapses.
LAPSE_WARNING = timedelta(days=7)
# DocuSign issues 30-day refresh tokens and does not say so in the response (API.md 1.4).
REFRESH_TOKEN_LIFETIME = timedelta(days=30)

TRANSIENT_ERRORS = (DocuSignUnavailable, DocuSignRateLimited)


@dataclass(frozen=True)
class AccessToken:
    """What a caller needs for one DocuSign REST call. The token never shows in a repr or log."""

    token: str = field(repr=False)
    expires_at: datetime
    account_id: str
    base_uri: str


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


class _ConfigurationError(Exception):
    """The integration cannot sign the request (no secret, no RSA key): an operator must act."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


# --- the two entry points ------------------------------------------------------------------------


def token_get_valid(
    *, tenant_id: int, actor_label: str = "portal", loaded: TenantToken | None = None
) -> AccessToken:
    """A valid access token for the tenant: the stored one while it has more than
    TOKEN_REFRESH_MARGIN_S left, otherwise a fresh one (refreshed here, once for all callers).

    `loaded` is the tenant's token row when the caller already read it together with its tenant,
    integration and account (`Tenant.objects.select_related("integration", "account", "token")`):
    a per-tenant task then reads everything in one query. A refresh re-reads the row under its
    lock either way, so a row read a moment earlier is as good as one read here."""
    row = loaded if loaded is not None else _row_load(tenant_id=tenant_id)
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
    *, tenant_id: int, force: bool = False, actor=None, actor_label: str = "scheduler"
) -> AccessToken:
    """Refresh the tenant's tokens if they are due (access token within REFRESH_AHEAD of expiry,
    or an ACG refresh token unused for KEEPALIVE_AFTER); with `force`, refresh now unless a sibling
    refreshed while this call waited for the lock. Safe to call twice."""
    if force:
        seen = TenantToken.objects.filter(tenant_id=tenant_id).values_list("generation", flat=True)
        seen_generation = seen.first()

        def is_due(locked: TenantToken, now: datetime) -> bool:
            return locked.generation == seen_generation or not _has_time_left(
                locked, now=now, margin=timedelta(0)
            )

    else:
        is_due = _is_due_for_schedule
    return _refresh_under_lock(
        tenant_id=tenant_id, is_due=is_due, actor=actor, actor_label=actor_label
    )


# --- the critical section ------------------------------------------------------------------------


def _refresh_under_lock(
    *,
    tenant_id: int,
    is_due: Callable[[TenantToken, datetime], bool],
    actor=None,
    actor_label: str,
) -> AccessToken:
    used: tuple[int, str] | None = None
    try:
        with transaction.atomic():
            _lock_timeout_set()
            row = _row_load(tenant_id=tenant_id, lock=True)
            # Re-read after acquiring: a sibling may have refreshed, or the tenant been flagged,
            # while this caller waited.
            tenant = row.tenant
            _usable_check(tenant)
            now = timezone.now()
            if not is_due(row, now):
                return _access_token(row)
            # What this attempt started from, to tell later whether someone else replaced it.
            used = (row.generation, row.refresh_token)
            # The one DocuSign call made inside an open transaction, on purpose: the row lock is
            # what guarantees one refresh per tenant (a second refresh would burn the rotated
            # refresh token). The client's timeout (DOCUSIGN_CONNECT/READ_TIMEOUT_S, a few
            # seconds) bounds how long the lock is held, and the call is never retried here.
            token_set = _token_request(row)
            was_failing = row.failure_count
            _row_store(row, token_set=token_set, now=timezone.now())
            # Routine renewals are not audit events: the token row keeps when and how often
            # (refreshed_at, generation), and a row per renewal would bury the log's real events
            # under three per tenant a day. A refresh someone asked for, or the first after
            # failures, is recorded.
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
    except DocuSignError as exc:
        return _failure_handle(tenant_id=tenant_id, exc=exc, used=used, actor_label=actor_label)
    except _ConfigurationError as exc:
        _configuration_error_record(tenant_id=tenant_id, exc=exc, actor_label=actor_label)
        raise TokenUnavailable(str(exc), code=exc.code) from None
    except DatabaseError as exc:
        if not _is_lock_timeout(exc):
            raise
        # Another process has held the lock far longer than any DocuSign call may take (a stuck
        # connection): try later rather than queue up behind it.
        logger.warning("token refresh for tenant %s: lock wait timed out", tenant_id)
        raise TokenTemporarilyUnavailable(
            "Another refresh of this tenant is still running.", code="lock_timeout"
        ) from None
    if tenant.status == Tenant.Status.ERROR:
        _recovered(tenant=tenant, actor_label=actor_label)
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
    if tenant.grant_mode == Tenant.GrantMode.JWT:
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


class _NoRefreshToken(DocuSignError):
    """Treated like DocuSign's `invalid_grant`: the tenant holds no grant to refresh."""

    def __init__(self):
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
    row.generation += 1
    row.failure_count = 0
    row.save(
        update_fields=[
            "access_token",
            "access_expires_at",
            "refresh_token",
            "refresh_expires_at",
            "refreshed_at",
            "generation",
            "failure_count",
            "lapse_reminder_sent_at",
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
    *, tenant_id: int, exc: DocuSignError, used: tuple[int, str] | None, actor_label: str
) -> AccessToken:
    code = _error_code(exc)
    if isinstance(exc, TRANSIENT_ERRORS):
        _failure_count(tenant_id=tenant_id, code=code)
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
                return _access_token(row)
            _failure_count(tenant_id=tenant_id, code=code)
        tenant_token_reconsent_flag(tenant=row.tenant, error_code=code, actor_label=actor_label)
        raise TokenReconsentRequired(
            "DocuSign no longer accepts this tenant's grant: the client admin must consent again.",
            code=code,
        ) from None
    _configuration_error_record(
        tenant_id=tenant_id,
        exc=_ConfigurationError(f"DocuSign refused the token request ({code}).", code=code),
        actor_label=actor_label,
    )
    raise TokenUnavailable(f"DocuSign refused the token request ({code}).", code=code) from None


def _error_code(exc: DocuSignError) -> str:
    """The most specific short reason: DocuSign's description when it names one
    (`no_valid_keys_or_signatures`), else the error code, else the kind of failure."""
    message = (exc.message or "").strip()
    if message and " " not in message and len(message) <= 64:
        return message
    if exc.error_code:
        return exc.error_code[:64]
    if isinstance(exc, DocuSignUnavailable):
        return "timeout" if "timed out" in message else "unavailable"
    return type(exc).__name__[:64]


def _failure_count(*, tenant_id: int, code: str) -> None:
    # Its own short transaction: the refresh's transaction has been rolled back by now.
    with transaction.atomic():
        TenantToken.objects.filter(tenant_id=tenant_id).update(
            failure_count=F("failure_count") + 1,
            last_error_code=code[:64],
            last_error_at=timezone.now(),
        )


def tenant_token_reconsent_flag(*, tenant: Tenant, error_code: str, actor_label: str) -> bool:
    """Move the tenant to `needs_reconsent` and tell staff, once: a second caller finds the status
    already set and does nothing. Returns True when this call flagged it."""
    reason = (
        f"DocuSign refused the token refresh ({error_code}); the client admin must consent again."
    )
    with transaction.atomic():
        flagged = tenant_status_set(
            tenant=tenant,
            to_status=Tenant.Status.NEEDS_RECONSENT,
            reason=reason,
            actor_label=actor_label,
        )
        if not flagged:
            return False
        audit_record(
            action="token.reconsent_needed",
            actor_label=actor_label,
            target=tenant,
            outcome=AuditEvent.Outcome.FAILURE,
            message=reason,
        )
        _staff_alert_on_commit(
            subject=f"{tenant.name} needs to reconnect DocuSign",
            body=(
                f"The DocuSign grant of {tenant.name} stopped working ({error_code}).\n"
                "The portal has stopped using it. Send a re-consent invite from the tenant's page"
                f"{_tenant_link(tenant)}."
            ),
        )
    logger.warning("tenant %s needs re-consent (%s)", tenant.pk, error_code)
    return True


def _configuration_error_record(*, tenant_id: int, exc: _ConfigurationError, actor_label: str):
    _failure_count(tenant_id=tenant_id, code=exc.code)
    tenant = Tenant.objects.get(pk=tenant_id)
    if tenant.status in HEALTHY_STATUSES:
        tenant_status_set(
            tenant=tenant, to_status=Tenant.Status.ERROR, reason=str(exc), actor_label=actor_label
        )
    logger.warning("token refresh for tenant %s cannot run (%s)", tenant_id, exc.code)


def token_refresh_gave_up(*, tenant_id: int, actor_label: str = "scheduler") -> bool:
    """The scheduler's retries ran out on transient errors: show the tenant as `error` (it keeps
    being retried on every schedule, and the next success brings it back). Returns True when this
    call flagged it."""
    row = TenantToken.objects.select_related("tenant").filter(tenant_id=tenant_id).first()
    if row is None or row.tenant.status not in HEALTHY_STATUSES:
        return False
    return tenant_status_set(
        tenant=row.tenant,
        to_status=Tenant.Status.ERROR,
        reason=(
            f"Token refresh failed {row.failure_count} times in a row "
            f"(last: {row.last_error_code or 'unknown'}); it is retried on every schedule."
        ),
        actor_label=actor_label,
    )


def _recovered(*, tenant: Tenant, actor_label: str) -> None:
    back_to = _previous_healthy_status(tenant)
    moved = tenant_status_set(
        tenant=tenant,
        to_status=back_to,
        reason="Token refresh works again.",
        actor_label=actor_label,
    )
    if moved:
        audit_record(
            action="token.recovered",
            actor_label=actor_label,
            target=tenant,
            message=f"Tokens work again; status back to {Tenant.Status(back_to).label}.",
        )


def _previous_healthy_status(tenant: Tenant) -> str:
    """The status the tenant had before it was flagged (consented or active)."""
    flagged = (
        TenantStatusChange.objects.filter(tenant=tenant, to_status=tenant.status)
        .order_by("-changed_at", "-id")
        .first()
    )
    if flagged is not None and flagged.from_status in HEALTHY_STATUSES:
        return flagged.from_status
    return Tenant.Status.CONSENTED


# --- reminders -----------------------------------------------------------------------------------


def token_lapse_remind(*, tenant_id: int, actor_label: str = "scheduler") -> bool:
    """Tell staff once that a tenant's refresh token lapses soon (within LAPSE_WARNING) and cannot
    be renewed by refreshing, so the client admin must consent again before then. The reminder is
    reset when the expiry moves (new consent, or a renewing refresh). Returns True when sent."""
    now = timezone.now()
    with transaction.atomic():
        row = _row_load(tenant_id=tenant_id, lock=True)
        tenant = row.tenant
        if (
            tenant.status not in USABLE_STATUSES
            or tenant.is_archived
            or row.lapse_reminder_sent_at is not None
            or row.refresh_expires_at is None
            or row.refresh_expires_at > now + LAPSE_WARNING
        ):
            return False
        row.lapse_reminder_sent_at = now
        row.save(update_fields=["lapse_reminder_sent_at"])
        when = row.refresh_expires_at
        message = (
            f"DocuSign access lapses on {when:%Y-%m-%d %H:%M} UTC unless the admin consents again."
        )
        audit_record(
            action="token.lapse_reminder", actor_label=actor_label, target=tenant, message=message
        )
        _staff_alert_on_commit(
            subject=f"{tenant.name}: DocuSign access lapses on {when:%Y-%m-%d}",
            body=(
                f"The DocuSign grant of {tenant.name} cannot be renewed by refreshing and ends on "
                f"{when:%Y-%m-%d %H:%M} UTC.\nSend a re-consent invite before then from the "
                f"tenant's page{_tenant_link(tenant)}."
            ),
        )
    return True


# --- re-consent invites --------------------------------------------------------------------------


def token_reconsent_invite_send(*, tenant_id: int, actor=None, actor_label: str = "", request=None):
    """Send the tenant's admin a re-consent invite (one click on the tenant page, or one bulk
    item). Returns the invites service's `InviteSent`."""
    from tenants.models import Invite
    from tenants.services.invites import invite_send

    tenant = Tenant.objects.get(pk=tenant_id)
    return invite_send(
        tenant=tenant,
        kind=Invite.Kind.RECONSENT,
        actor=actor,
        actor_label=actor_label,
        request=request,
    )


def token_reconsent_invite_for_bulk(*, tenant_id: int, actor_id: int | None):
    """`common.bulk` handler for RECONSENT_INVITE: one tenant, with a per-tenant outcome."""
    from django.contrib.auth import get_user_model

    from common.bulk import BulkResult
    from common.models import BulkOperationItem

    Outcome = BulkOperationItem.Outcome
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return BulkResult(Outcome.SKIPPED, "The tenant no longer exists.")
    if tenant.status == Tenant.Status.OFFBOARDED or tenant.is_archived:
        return BulkResult(Outcome.SKIPPED, "Offboarded or archived: not invited.")
    from tenants.models import Invite, TenantAccount
    from tenants.services.invites import invite_send

    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    # A tenant that never linked an account needs its first consent, which also moves it to
    # Invited; only a linked one is asked to re-consent.
    linked = TenantAccount.objects.filter(tenant_id=tenant_id).exists()
    kind = Invite.Kind.RECONSENT if linked else Invite.Kind.CONSENT
    sent = invite_send(tenant=tenant, kind=kind, actor=actor, actor_label="bulk")
    if not sent.emailed:
        return BulkResult(Outcome.FAILED, "Invite created, but the email failed: copy the link.")
    label = "Re-consent invite" if linked else "Consent invite"
    return BulkResult(Outcome.SUCCEEDED, f"{label} sent to {tenant.admin_email}.")


# --- helpers -------------------------------------------------------------------------------------


# What the token service reads with the token row: every token field, and of the tenant, its
# integration and account only what a refresh, a reminder or a failure uses. Django's SQL compiler
# spends its time per column, and the four tables' unused columns cost more CPU than a refresh's
# other statements. A field left out still loads when touched, one query later
# (test_tokens_queries.py pins the statements of a refresh).
_ROW_FIELDS = (
    *(f.name for f in TenantToken._meta.concrete_fields),
    "tenant__name",
    "tenant__status",
    "tenant__archived_at",
    "tenant__grant_mode",
    "tenant__integration__name",
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


def _row_load(*, tenant_id: int, lock: bool = False) -> TenantToken:
    rows = TenantToken.objects.select_related("tenant__integration", "tenant__account").only(
        *_ROW_FIELDS
    )
    if lock:
        # Lock only the token row: the tenant row is locked by tenant_status_set when needed.
        rows = rows.select_for_update(of=("self",))
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


def _is_due_for_schedule(row: TenantToken, now: datetime) -> bool:
    if not _has_time_left(row, now=now, margin=REFRESH_AHEAD):
        return True
    if row.tenant.grant_mode != Tenant.GrantMode.AUTHORIZATION_CODE or not row.refresh_token:
        return False
    last_used = row.refreshed_at or _account(row.tenant).consented_at
    return last_used is None or last_used <= now - KEEPALIVE_AFTER


def _access_token(row: TenantToken) -> AccessToken:
    account = _account(row.tenant)
    return AccessToken(
        token=row.access_token,
        expires_at=row.access_expires_at,
        account_id=account.account_id,
        base_uri=account.base_uri,
    )


def _tenant_link(tenant: Tenant) -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        path = reverse("tenant-detail", kwargs={"tenant_id": tenant.pk})
    except NoReverseMatch:
        return ""
    return f" ({settings.PORTAL_PUBLIC_URL}{path})"


def _staff_alert_on_commit(*, subject: str, body: str) -> None:
    recipients = list(settings.STAFF_ALERT_EMAILS)
    if not recipients:
        logger.info("staff alert not emailed (STAFF_ALERT_EMAILS is empty): %s", subject)
        return

    def send() -> None:
        try:
            send_mail(
                subject=subject,
                message=body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=recipients,
            )
        except Exception as exc:
            # The dashboard flag (the tenant's status) still stands; only the email is lost.
            logger.warning("staff alert email failed (%s): %s", type(exc).__name__, subject)

    transaction.on_commit(send)
