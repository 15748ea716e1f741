"""Reads for the fleet pages: the tenant list, the tenant page's header and the dashboard's counts
("needs a human" is in `attention.py`).

Every function here runs a fixed number of queries whatever the number of tenants: counts are one
aggregate, samples are LIMITed, and rows come with their one-to-one neighbours joined in.

Tenants never import Connect; its per-tenant state is reached through the `connect_state` reverse
relation that Connect declares on Tenant, and its status values are spelled out below.
"""

from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from tenants.models import Integration, Tenant, TenantStatusChange
from tenants.selectors.attention import (
    ANY_ATTENTION,
    ATTENTION_CHOICES,
    LAPSE_WARNING_DAYS,
    any_attention_q,
    attention_q,
    one_to_one,
    served_tenants,
    with_behind,
)
from tenants.selectors.tenants import STATUS_BADGES

__all__ = ["ATTENTION_CHOICES"]

PAGE_SIZE = 50
# connect.TenantConnectState.Status, with the badge each shows.
CONNECT_HEALTH = {
    "in_sync": ("In sync", "ok"),
    "repaired": ("Repaired", "ok"),
    "drift": ("Drift", "warn"),
    "failing": ("Failing", "bad"),
    "skipped": ("Skipped", "idle"),
    "never": ("Never synced", "idle"),
}
NO_CONNECT_STATE = ("Not tracked", "idle")
BEHIND_HEALTH = ("Behind (new template version)", "warn")

ARCHIVED = "archived"
STATUS_FILTER_CHOICES = [*Tenant.Status.choices, (ARCHIVED, "Archived")]
# Tenants with a Connect configuration on their account that stored no event for this long.
SILENT = "silent"
SILENT_DAYS = 7
HEALTH_FILTER_CHOICES = [
    *((key, label) for key, (label, _) in CONNECT_HEALTH.items()),
    (SILENT, f"No Connect event in {SILENT_DAYS} days"),
]

SORTS = {
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    "status": ("status", "name", "pk"),
    "-status": ("-status", "name", "pk"),
    "last_sync": (F("connect_state__last_sync_at").asc(nulls_first=True), "pk"),
    "-last_sync": (F("connect_state__last_sync_at").desc(nulls_last=True), "pk"),
    "token_expiry": (F("token__refresh_expires_at").asc(nulls_last=True), "pk"),
    "-token_expiry": (F("token__refresh_expires_at").desc(nulls_last=True), "pk"),
}
SORT_CHOICES = [
    ("name", "Name (A to Z)"),
    ("-name", "Name (Z to A)"),
    ("status", "Status"),
    ("last_sync", "Last sync (oldest first)"),
    ("-last_sync", "Last sync (newest first)"),
    ("token_expiry", "Consent lapses (soonest first)"),
    ("-token_expiry", "Consent lapses (latest first)"),
]


def tenant_fleet_list(
    *,
    q: str = "",
    status: str = "",
    integration_id: int | None = None,
    health: str = "",
    attention: str = "",
    sort: str = "name",
) -> QuerySet[Tenant]:
    """The filtered, sorted tenant list, with integration, account, token and Connect state
    joined in (one query per page). Archived tenants appear only when asked for."""
    tenants = Tenant.objects.select_related("integration", "account", "token", "connect_state")
    if status == ARCHIVED:
        tenants = tenants.filter(archived_at__isnull=False)
    else:
        tenants = tenants.filter(archived_at__isnull=True)
        if status:
            tenants = tenants.filter(status=status)
    if q:
        q = q.strip()
        tenants = tenants.filter(
            Q(name__icontains=q)
            | Q(slug__icontains=q)
            | Q(admin_email__icontains=q)
            | Q(account__account_id__iexact=q)
        )
    if integration_id:
        tenants = tenants.filter(integration_id=integration_id)
    if health == SILENT:
        tenants = tenants.filter(_silent_q(timezone.now()))
    elif health == "never":
        tenants = tenants.filter(Q(connect_state__isnull=True) | Q(connect_state__status="never"))
    elif health:
        tenants = tenants.filter(connect_state__status=health)
    if attention == ANY_ATTENTION:
        tenants = tenants.exclude(status=Tenant.Status.OFFBOARDED).filter(
            any_attention_q(timezone.now())
        )
    elif attention:
        tenants = tenants.exclude(status=Tenant.Status.OFFBOARDED).filter(
            attention_q(attention, now=timezone.now())
        )
    return with_behind(tenants).order_by(*SORTS.get(sort, SORTS["name"]))


def _silent_q(now: datetime) -> Q:
    """The same tenants as events.selectors.tenants_silent_count, through `event_health`."""
    since = now - timedelta(days=SILENT_DAYS)
    return (
        Q(account__isnull=False, connect_state__isnull=False)
        & ~Q(status=Tenant.Status.OFFBOARDED)
        & ~Q(connect_state__connect_ids={})
        & ~Q(connect_state__connect_ids__isnull=True)
        & (Q(event_health__last_event_at__isnull=True) | Q(event_health__last_event_at__lt=since))
    )


def tenant_silent_count() -> int:
    """What the dashboard says about quiet tenants: the tenant list's "silent" filter, counted."""
    return served_tenants().filter(_silent_q(timezone.now())).count()


def tenant_fleet_ids(**filters: Any) -> list[tuple[int, str]]:
    """(id, name) of every tenant matching the list's filters: the targets of "all matching"."""
    return list(tenant_fleet_list(**filters).values_list("pk", "name"))


def tenant_ids_named(*, tenant_ids: list[int]) -> list[tuple[int, str]]:
    return list(
        Tenant.objects.filter(pk__in=tenant_ids, archived_at__isnull=True)
        .order_by("name", "pk")
        .values_list("pk", "name")
    )


def tenant_fleet_row(*, tenant: Tenant, now: datetime | None = None) -> dict:
    """What one list row (or the tenant page's header) shows, finished for the template."""
    now = now or timezone.now()
    account = one_to_one(tenant, "account")
    token = one_to_one(tenant, "token")
    state = one_to_one(tenant, "connect_state")
    health_label, health_badge = (
        CONNECT_HEALTH.get(state.status, NO_CONNECT_STATE) if state else NO_CONNECT_STATE
    )
    if getattr(tenant, "is_behind", False) and health_badge == "ok":
        # "In sync" would hide a template version DocuSign does not have yet.
        health_label, health_badge = BEHIND_HEALTH
    lapses_at = token.refresh_expires_at if token else None
    lapse_badge = ""
    if lapses_at is not None:
        if lapses_at <= now:
            lapse_badge = "bad"
        elif lapses_at <= now + timedelta(days=LAPSE_WARNING_DAYS):
            lapse_badge = "warn"
    return {
        "tenant": tenant,
        "pk": tenant.pk,
        "name": tenant.name,
        "slug": tenant.slug,
        "admin_email": tenant.admin_email,
        "integration_name": tenant.integration.name,
        "status_label": "Archived" if tenant.is_archived else tenant.get_status_display(),
        "status_badge": "idle" if tenant.is_archived else STATUS_BADGES.get(tenant.status, "idle"),
        "status_reason": tenant.status_reason,
        "account_id": account.account_id if account else "",
        "account_name": account.account_name if account else "",
        "base_uri": account.base_uri if account else "",
        "health_label": health_label,
        "health_badge": health_badge,
        "last_sync_at": state.last_sync_at if state else None,
        "last_sync_error": state.last_error if state else "",
        "access_expires_at": token.access_expires_at if token else None,
        "lapses_at": lapses_at,
        "lapse_badge": lapse_badge,
        "grant_mode_label": tenant.get_grant_mode_display(),
    }


def tenant_state_counts() -> list[dict]:
    """Tenants per status (archived counted apart), in the lifecycle's order; one query."""
    totals = dict(
        Tenant.objects.filter(archived_at__isnull=True)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    archived = Tenant.objects.filter(archived_at__isnull=False).count()
    rows = [
        {
            "key": value,
            "label": label,
            "count": totals.get(value, 0),
            "badge": STATUS_BADGES.get(value, "idle"),
        }
        for value, label in Tenant.Status.choices
    ]
    rows.append({"key": ARCHIVED, "label": "Archived", "count": archived, "badge": "idle"})
    return rows


def token_expiries_by_day(*, days: int = 14) -> list[tuple[date, int]]:
    """Refresh tokens (consents) ending on each of the next `days` days, zeros included."""
    today = timezone.localdate()
    start = timezone.make_aware(datetime.combine(today, datetime.min.time()))
    end = start + timedelta(days=days)
    found = dict(
        served_tenants()
        .filter(token__refresh_expires_at__gte=start, token__refresh_expires_at__lt=end)
        .annotate(day=TruncDate("token__refresh_expires_at"))
        .order_by()
        .values_list("day")
        .annotate(n=Count("pk"))
    )
    return [
        (today + timedelta(days=i), found.get(today + timedelta(days=i), 0)) for i in range(days)
    ]


def tenant_status_changes(*, tenant: Tenant, limit: int = 20) -> list[dict]:
    labels = dict(Tenant.Status.choices)
    return [
        {
            "changed_at": change.changed_at,
            "from_label": labels.get(change.from_status, "—") if change.from_status else "—",
            "to_label": labels.get(change.to_status, change.to_status),
            "to_badge": STATUS_BADGES.get(change.to_status, "idle"),
            "reason": change.reason,
            "actor_label": change.actor_label,
        }
        for change in TenantStatusChange.objects.filter(tenant=tenant).order_by(
            "-changed_at", "-id"
        )[:limit]
    ]


def tenant_for_page(*, tenant_id: int) -> Tenant:
    """The tenant with every one-to-one neighbour the tenant page shows, in one query."""
    return with_behind(
        Tenant.objects.select_related("integration", "account", "token", "connect_state", "owner")
    ).get(pk=tenant_id)


def integration_filter_choices() -> list[tuple[int, str]]:
    return list(Integration.objects.order_by("name").values_list("pk", "name"))
