"""Reads about tenants' tokens: what the scheduler must refresh or remind about, and the token
panel of the tenant page. Nothing here ever returns a token value."""

from datetime import datetime

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from tenants.models import Tenant, TenantToken
from tenants.services.token_reminders import LAPSE_WARNING
from tenants.services.token_rows import USABLE_STATUSES
from tenants.services.tokens import KEEPALIVE_AFTER, REFRESH_AHEAD


def _kept_alive_tokens() -> QuerySet[TenantToken]:
    return TenantToken.objects.filter(
        tenant__status__in=USABLE_STATUSES,
        tenant__archived_at__isnull=True,
        tenant__account__isnull=False,
    )


def token_refresh_due_tenant_ids(
    *, now: datetime | None = None, all_queued_lost: bool = False
) -> list[int]:
    """Tenants whose access token expires within REFRESH_AHEAD (or is missing or expired), plus
    ACG tenants whose refresh token has not been used for KEEPALIVE_AFTER; not those with a
    refresh already on its way (a lease that has not run out), unless `all_queued_lost`."""
    now = now or timezone.now()
    not_queued = (
        Q()
        if all_queued_lost
        else Q(refresh_lease_expires_at__isnull=True) | Q(refresh_lease_expires_at__lt=now)
    )
    expiring = Q(access_expires_at__isnull=True) | Q(access_expires_at__lte=now + REFRESH_AHEAD)
    idle_since = now - KEEPALIVE_AFTER
    dormant = (
        Q(tenant__grant_mode=Tenant.GrantMode.AUTHORIZATION_CODE)
        & ~Q(refresh_token="")
        & (
            Q(refreshed_at__lte=idle_since)
            | Q(refreshed_at__isnull=True, tenant__account__consented_at__lte=idle_since)
        )
    )
    return list(
        _kept_alive_tokens()
        .filter(expiring | dormant)
        .filter(not_queued)
        .order_by("access_expires_at")
        .values_list("tenant_id", flat=True)
    )


def token_refresh_overdue(*, now: datetime) -> tuple[int, datetime | None]:
    """Refreshes queued longer than their lease: how many, and the earliest lease end."""
    found = (
        _kept_alive_tokens()
        .filter(refresh_lease_expires_at__lt=now)
        .aggregate(n=Count("pk"), oldest=Min("refresh_lease_expires_at"))
    )
    return found["n"], found["oldest"]


def token_lapse_due_tenant_ids(*, now: datetime | None = None) -> list[int]:
    """Tenants whose refresh token lapses within LAPSE_WARNING and whose staff were not yet told."""
    now = now or timezone.now()
    return list(
        _kept_alive_tokens()
        .filter(
            refresh_expires_at__isnull=False,
            refresh_expires_at__lte=now + LAPSE_WARNING,
            lapse_reminder_sent_at__isnull=True,
        )
        .values_list("tenant_id", flat=True)
    )


def token_tenant_panel(*, tenant: Tenant) -> dict:
    """Everything `tenants/_token_panel.html` shows, as final values: expiry times, last refresh,
    last error, failure count, and the health badge. Never a token."""
    row = TenantToken.objects.filter(tenant=tenant).first()
    now = timezone.now()
    needs_reconsent = tenant.status == Tenant.Status.NEEDS_RECONSENT
    panel = {
        "tenant_id": tenant.pk,
        "has_tokens": row is not None and bool(row.access_token or row.refresh_token),
        "grant_mode": tenant.get_grant_mode_display(),
        "is_jwt": tenant.uses_jwt,
        "needs_reconsent": needs_reconsent,
        "can_reconsent": tenant.status != Tenant.Status.OFFBOARDED and not tenant.is_archived,
        "can_refresh": tenant.status in USABLE_STATUSES and not tenant.is_archived,
        "access_expires_at": None,
        "access_expired": False,
        "refresh_expires_at": None,
        "refreshed_at": None,
        "last_error_code": "",
        "last_error_at": None,
        "failure_count": 0,
        "lapse_warning": False,
        "lapse_reminder_sent_at": None,
    }
    if row is not None:
        lapse_soon = (
            row.refresh_expires_at is not None and row.refresh_expires_at <= now + LAPSE_WARNING
        )
        panel.update(
            access_expires_at=row.access_expires_at,
            access_expired=row.access_expires_at is not None and row.access_expires_at <= now,
            refresh_expires_at=row.refresh_expires_at,
            refreshed_at=row.refreshed_at,
            last_error_code=row.last_error_code,
            last_error_at=row.last_error_at,
            failure_count=row.failure_count,
            lapse_warning=lapse_soon and not needs_reconsent,
            lapse_reminder_sent_at=row.lapse_reminder_sent_at,
        )
    panel["health"], panel["health_badge"] = _health(tenant, panel)
    return panel


def _health(tenant: Tenant, panel: dict) -> tuple[str, str]:
    if panel["needs_reconsent"]:
        return "Needs re-consent: DocuSign refused the grant", "bad"
    if not panel["has_tokens"]:
        return "No tokens yet", "idle"
    if tenant.status not in USABLE_STATUSES or tenant.is_archived:
        return f"Not kept alive ({tenant.get_status_display().lower()})", "idle"
    if panel["failure_count"]:
        return f"Refresh failing ({panel['failure_count']} attempts); retrying", "warn"
    if panel["lapse_warning"]:
        return "Grant lapses soon: send a re-consent invite", "warn"
    if panel["access_expired"]:
        return "Access token expired; refreshed on next use", "info"
    return "Healthy", "ok"
