"""Reads for the fleet pages: the tenant list, the dashboard's counts and "needs a human" lists.

Every function here runs a fixed number of queries whatever the number of tenants: counts are one
aggregate, samples are LIMITed, and rows come with their one-to-one neighbours joined in.

Tenants never import Connect; its per-tenant state is reached through the `connect_state` reverse
relation that Connect declares on Tenant, and its status values are spelled out below.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from tenants.models import Integration, Invite, Tenant, TenantStatusChange
from tenants.selectors.tenants import STATUS_BADGES

PAGE_SIZE = 50
# A refresh token (and so the consent behind it) lapsing within this many days needs a human.
LAPSE_WARNING_DAYS = 7
ATTENTION_SAMPLE = 5
# DocuSign counts calls per account across every app of the client (API.md 4): when the last sync
# saw less than this share left in the current hour, the client's own integrations are at risk.
RATE_LIMIT_LOW_PERCENT = 10

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

ARCHIVED = "archived"
STATUS_FILTER_CHOICES = [*Tenant.Status.choices, (ARCHIVED, "Archived")]
HEALTH_FILTER_CHOICES = [(key, label) for key, (label, _) in CONNECT_HEALTH.items()]

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


@dataclass(frozen=True)
class Attention:
    key: str
    label: str
    help: str


ATTENTION = [
    Attention("needs_reconsent", "Needs re-consent", "DocuSign refused the tenant's grant."),
    Attention("invite_expired", "Invite expired", "Invited, but no usable invite is left."),
    Attention(
        "lapsing",
        "Consent about to lapse",
        f"The refresh token ends within {LAPSE_WARNING_DAYS} days.",
    ),
    Attention("connect_drift", "Connect drift", "DocuSign differs from the desired configuration."),
    Attention("sync_failing", "Sync failing", "The last Connect sync failed."),
    Attention(
        "rate_limit_low",
        "Rate limit nearly spent",
        f"Under {RATE_LIMIT_LOW_PERCENT}% of the account's hourly DocuSign calls left.",
    ),
]
ATTENTION_CHOICES = [(a.key, a.label) for a in ATTENTION]
# Which tenants a category names first: the most pressing, along an indexed column.
ATTENTION_ORDER = {
    "lapsing": ("token__refresh_expires_at",),
    "connect_drift": ("-connect_state__last_sync_at",),
    "sync_failing": ("-connect_state__last_sync_at",),
    "rate_limit_low": ("connect_state__rate_limit_remaining",),
}


def _usable_invite() -> Exists:
    return Exists(
        Invite.objects.filter(
            tenant=OuterRef("pk"),
            superseded_at__isnull=True,
            completed_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
    )


def _attention_q(key: str, *, now: datetime) -> Q:
    if key == "needs_reconsent":
        return Q(status=Tenant.Status.NEEDS_RECONSENT)
    if key == "invite_expired":
        return Q(status=Tenant.Status.INVITED) & ~Q(_usable_invite())
    if key == "lapsing":
        return Q(
            token__refresh_expires_at__gt=now,
            token__refresh_expires_at__lte=now + timedelta(days=LAPSE_WARNING_DAYS),
        ) & ~Q(status=Tenant.Status.NEEDS_RECONSENT)
    if key == "connect_drift":
        return Q(connect_state__status="drift")
    if key == "sync_failing":
        return Q(connect_state__status="failing")
    if key == "rate_limit_low":
        return Q(
            connect_state__rate_limit_reset_at__gt=now,
            connect_state__rate_limit_remaining__lt=F("connect_state__rate_limit_limit")
            * RATE_LIMIT_LOW_PERCENT
            / 100,
        )
    raise ValueError(f"Unknown attention category '{key}'.")


def _served() -> QuerySet[Tenant]:
    """Tenants the partner still serves: not archived, not offboarded."""
    return Tenant.objects.filter(archived_at__isnull=True).exclude(status=Tenant.Status.OFFBOARDED)


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
    if health == "never":
        tenants = tenants.filter(Q(connect_state__isnull=True) | Q(connect_state__status="never"))
    elif health:
        tenants = tenants.filter(connect_state__status=health)
    if attention:
        tenants = tenants.exclude(status=Tenant.Status.OFFBOARDED).filter(
            _attention_q(attention, now=timezone.now())
        )
    return tenants.order_by(*SORTS.get(sort, SORTS["name"]))


def tenant_fleet_ids(**filters: Any) -> list[tuple[int, str]]:
    """(id, name) of every tenant matching the list's filters: the targets of "all matching"."""
    return list(tenant_fleet_list(**filters).values_list("pk", "name"))


def tenant_ids_named(*, tenant_ids: list[int]) -> list[tuple[int, str]]:
    return list(
        Tenant.objects.filter(pk__in=tenant_ids, archived_at__isnull=True)
        .order_by("name", "pk")
        .values_list("pk", "name")
    )


def _one_to_one(tenant: Tenant, name: str) -> Any:
    """The joined one-to-one neighbour, or None; never a query (select_related filled the cache,
    with None where there is no row, which the descriptor would turn into an exception)."""
    return tenant._state.fields_cache.get(name)


def tenant_fleet_row(*, tenant: Tenant, now: datetime | None = None) -> dict:
    """What one list row (or the tenant page's header) shows, finished for the template."""
    now = now or timezone.now()
    account = _one_to_one(tenant, "account")
    token = _one_to_one(tenant, "token")
    state = _one_to_one(tenant, "connect_state")
    health_label, health_badge = (
        CONNECT_HEALTH.get(state.status, NO_CONNECT_STATE) if state else NO_CONNECT_STATE
    )
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


def _attention_reason(key: str, tenant: Tenant, now: datetime) -> str:
    if key == "needs_reconsent":
        return tenant.status_reason or "DocuSign refused the grant"
    if key == "invite_expired":
        expired = getattr(tenant, "invite_expired_at", None)
        return f"Invite expired {expired:%Y-%m-%d}" if expired else "No invite was sent"
    if key == "lapsing":
        lapses_at = _one_to_one(tenant, "token").refresh_expires_at
        return f"Consent lapses {lapses_at:%Y-%m-%d} (in {max(0, (lapses_at - now).days)} days)"
    state = _one_to_one(tenant, "connect_state")
    if key == "connect_drift":
        return "Drift reported" + (f": {state.last_error}" if state and state.last_error else "")
    if key == "sync_failing":
        failures = state.consecutive_failures if state else 0
        error = state.last_error if state else ""
        return f"{failures} failed syncs in a row" + (f": {error}" if error else "")
    if key == "rate_limit_low":
        return (
            f"{state.rate_limit_remaining} of {state.rate_limit_limit} calls left until "
            f"{state.rate_limit_reset_at:%H:%M} UTC"
        )
    return ""


def tenant_attention_summary(*, sample: int = ATTENTION_SAMPLE) -> list[dict]:
    """Each "needs a human" category: its count (one aggregate for all), and the first few
    tenants with the reason (one LIMITed query per category that has any)."""
    now = timezone.now()
    served = _served()
    counts = served.aggregate(
        **{a.key: Count("pk", filter=_attention_q(a.key, now=now)) for a in ATTENTION}
    )
    latest_invite_expiry = Subquery(
        Invite.objects.filter(tenant=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("expires_at")[:1]
    )
    summary = []
    for attention in ATTENTION:
        count = counts[attention.key]
        tenants = []
        if count:
            found = served.filter(_attention_q(attention.key, now=now)).select_related(
                "token", "connect_state"
            )
            if attention.key == "invite_expired":
                found = found.annotate(invite_expired_at=latest_invite_expiry)
            found = found.order_by(*ATTENTION_ORDER.get(attention.key, ("name",)), "pk")[:sample]
            tenants = [
                {"pk": t.pk, "name": t.name, "reason": _attention_reason(attention.key, t, now)}
                for t in found
            ]
        summary.append(
            {
                "key": attention.key,
                "label": attention.label,
                "help": attention.help,
                "count": count,
                "tenants": tenants,
                "more": max(0, count - len(tenants)),
            }
        )
    return summary


def token_expiries_by_day(*, days: int = 14) -> list[tuple[date, int]]:
    """Refresh tokens (consents) ending on each of the next `days` days, zeros included."""
    today = timezone.localdate()
    start = timezone.make_aware(datetime.combine(today, datetime.min.time()))
    end = start + timedelta(days=days)
    found = dict(
        _served()
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
    return Tenant.objects.select_related("integration", "account", "token", "connect_state").get(
        pk=tenant_id
    )


def integration_filter_choices() -> list[tuple[int, str]]:
    return list(Integration.objects.order_by("name").values_list("pk", "name"))


def tenant_attention_reasons(*, tenant_id: int) -> list[dict]:
    """The "needs a human" categories one tenant is in, each with its reason: one aggregate, and
    one more query only when there is any."""
    now = timezone.now()
    served = _served().filter(pk=tenant_id)
    flags = served.aggregate(
        **{a.key: Count("pk", filter=_attention_q(a.key, now=now)) for a in ATTENTION}
    )
    found = [a for a in ATTENTION if flags[a.key]]
    if not found:
        return []
    latest_invite_expiry = Subquery(
        Invite.objects.filter(tenant=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("expires_at")[:1]
    )
    tenant = (
        served.select_related("token", "connect_state")
        .annotate(invite_expired_at=latest_invite_expiry)
        .get()
    )
    return [
        {"key": a.key, "label": a.label, "reason": _attention_reason(a.key, tenant, now)}
        for a in found
    ]
