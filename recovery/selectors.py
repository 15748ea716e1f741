"""Reads for the delivery-failure pages, the tenant panel and the dashboard. Templates get
finished values."""

from django.conf import settings
from django.db.models import Count, Q, Sum

from recovery.models import DeliveryFailure, TenantRecovery
from tenants.models import Tenant

State = DeliveryFailure.State
UNRECOVERED = [State.OPEN, State.QUEUED, State.REPUBLISHED, State.FAILED_AGAIN]
STATE_BADGES: dict[str, str] = {
    State.OPEN: "bad",
    State.QUEUED: "info",
    State.REPUBLISHED: "info",
    State.FAILED_AGAIN: "bad",
    State.CANNOT_REPUBLISH: "warn",
    State.RECOVERED: "ok",
}
STATE_FILTERS = {
    "unrecovered": ("Not recovered", Q(state__in=UNRECOVERED)),
    "recovered": ("Recovered", Q(state=State.RECOVERED)),
    "cannot": ("Cannot be republished", Q(state=State.CANNOT_REPUBLISH)),
    "gaps": ("Completeness gaps", Q(source=DeliveryFailure.Source.COMPLETENESS)),
    "all": ("All", Q()),
}
PAGE_LIMIT = 500
REPORTED_BY_DOCUSIGN = [DeliveryFailure.Source.FAILURE_LOG, DeliveryFailure.Source.CONNECT_LOG]


def delivery_failure_rows(*, tenant: Tenant, show: str = "unrecovered") -> list[dict]:
    """The tenant's failures for the tab, newest first (at most PAGE_LIMIT)."""
    _, condition = STATE_FILTERS.get(show, STATE_FILTERS["unrecovered"])
    rows = DeliveryFailure.objects.filter(Q(tenant=tenant) & condition).order_by(
        "-docusign_created_at", "-id"
    )[:PAGE_LIMIT]
    return [
        {
            "pk": row.pk,
            "envelope_id": row.envelope_id,
            "event": row.event or "(not named by DocuSign)",
            "source": row.get_source_display(),
            "error": row.error,
            "created_at": row.docusign_created_at,
            "first_seen_at": row.first_seen_at,
            "state_label": row.get_state_display(),
            "state_badge": STATE_BADGES[row.state],
            "state_reason": row.state_reason,
            "retried": row.republish_count > 0,
            "republish_count": row.republish_count,
            "republished_at": row.republished_at,
            "recovered_at": row.recovered_at,
            "recovered_event_id": row.recovered_event_id,
            "can_republish": bool(row.envelope_id) and row.state in UNRECOVERED,
        }
        for row in rows
    ]


def recovery_tenant_panel(*, tenant: Tenant) -> dict:
    """The tenant page's "Delivery recovery" panel."""
    counts = dict(
        DeliveryFailure.objects.filter(tenant=tenant)
        .values_list("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    state = TenantRecovery.objects.filter(tenant=tenant).first()
    gaps = DeliveryFailure.objects.filter(
        tenant=tenant, source=DeliveryFailure.Source.COMPLETENESS, state__in=UNRECOVERED
    ).count()
    return {
        "tenant": tenant,
        "unrecovered": sum(counts.get(s, 0) for s in UNRECOVERED),
        "recovered": counts.get(State.RECOVERED, 0),
        "cannot": counts.get(State.CANNOT_REPUBLISH, 0),
        "failures_checked_at": state.failures_checked_at if state else None,
        "failures_error": state.failures_error if state else "",
        "completeness": _completeness(state),
        "gaps": gaps,
    }


def delivery_failures_reported(*, tenant: Tenant) -> dict:
    """DocuSign's failure log of the tenant's account as last copied: how many of the failed
    deliveries it (or the Connect log) reported have not come back (None until the first copy),
    when it was read, and why the last read failed."""
    state = (
        TenantRecovery.objects.filter(tenant=tenant)
        .annotate(
            unrecovered=Count(
                "tenant__delivery_failures",
                filter=Q(
                    tenant__delivery_failures__source__in=REPORTED_BY_DOCUSIGN,
                    tenant__delivery_failures__state__in=UNRECOVERED,
                ),
            )
        )
        .first()
    )
    checked_at = state.failures_checked_at if state else None
    return {
        "failures_count": state.unrecovered if state and checked_at else None,
        "failures_checked_at": checked_at,
        "failures_error": state.failures_error if state else "",
    }


def _completeness(state: TenantRecovery | None) -> dict | None:
    if state is None or state.completeness_checked_at is None:
        return None
    return {
        "percent": state.completeness_percent,
        "days": state.completeness_days or settings.RECOVERY_COMPLETENESS_DAYS,
        "expected": state.completeness_expected,
        "received": state.completeness_received,
        "checked_at": state.completeness_checked_at,
        "error": state.completeness_error,
        "badge": _percent_badge(state.completeness_percent),
    }


def _percent_badge(percent: float | None) -> str:
    if percent is None:
        return "idle"
    if percent >= 100:
        return "ok"
    return "warn" if percent >= 99 else "bad"


def recovery_dashboard_summary(*, worst: int = 5) -> dict:
    """Tenants with unrecovered failures, the fleet's completeness and the worst tenants (three
    queries whatever the fleet's size)."""
    unrecovered_tenants = DeliveryFailure.objects.filter(state__in=UNRECOVERED).aggregate(
        n=Count("tenant_id", distinct=True)
    )["n"]
    checked = TenantRecovery.objects.filter(
        completeness_percent__isnull=False, tenant__archived_at__isnull=True
    )
    totals = checked.aggregate(
        expected=Sum("completeness_expected"),
        received=Sum("completeness_received"),
        tenants=Count("pk"),
    )
    expected = totals["expected"] or 0
    fleet_percent = None
    if totals["tenants"]:
        fleet_percent = 100.0 if not expected else 100.0 * (totals["received"] or 0) / expected
    worst_rows = (
        checked.filter(completeness_percent__lt=100)
        .select_related("tenant")
        .order_by("completeness_percent", "tenant__name")[:worst]
    )
    return {
        "unrecovered_tenants": unrecovered_tenants,
        "fleet_percent": round(fleet_percent, 2) if fleet_percent is not None else None,
        "fleet_badge": _percent_badge(fleet_percent),
        "days": settings.RECOVERY_COMPLETENESS_DAYS,
        "checked_tenants": totals["tenants"],
        "worst": [
            {
                "pk": row.tenant_id,
                "name": row.tenant.name,
                "percent": row.completeness_percent,
                "missing": row.completeness_expected - row.completeness_received,
            }
            for row in worst_rows
        ],
    }


def delivery_failures_fleet_rows(*, limit: int = 200) -> list[dict]:
    """Tenants with unrecovered failures, most first: the fleet page's table."""
    rows = (
        DeliveryFailure.objects.filter(state__in=UNRECOVERED)
        .values("tenant_id", "tenant__name")
        .annotate(n=Count("id"), failed_again=Count("id", filter=Q(state=State.FAILED_AGAIN)))
        .order_by("-n", "tenant__name")[:limit]
    )
    return [
        {
            "pk": r["tenant_id"],
            "name": r["tenant__name"],
            "count": r["n"],
            "failed_again": r["failed_again"],
        }
        for r in rows
    ]


def republish_progress(*, operation_id: int) -> dict | None:
    """How many failures a republish operation queued have come back, for its bulk page."""
    counts = dict(
        DeliveryFailure.objects.filter(republish_operation_id=operation_id)
        .values_list("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    total = sum(counts.values())
    if not total:
        return None
    waiting = sum(counts.get(s, 0) for s in (State.QUEUED, State.REPUBLISHED))
    return {
        "total": total,
        "recovered": counts.get(State.RECOVERED, 0),
        "waiting": waiting,
        "failed_again": counts.get(State.FAILED_AGAIN, 0),
        "percent": int(100 * counts.get(State.RECOVERED, 0) / total),
    }
