"""The dashboard: the fleet at a glance, what needs a human and why, and the trends."""

from datetime import timedelta
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView

from common.charts import Series, bar_chart, stacked_bar_chart
from common.selectors import bulk_items_overdue, worker_heartbeat_latest
from connect.selectors.fleet import (
    connect_health_counts,
    connect_sync_outcomes_by_day,
    connect_sync_overdue,
)
from forwarding.selectors import destinations_paused
from portal.views.mixins import StaffRequiredMixin
from recovery.selectors import recovery_dashboard_summary
from tenants.selectors.attention import ANY_ATTENTION, tenant_attention_summary
from tenants.selectors.fleet import (
    CONNECT_HEALTH,
    SILENT,
    SILENT_DAYS,
    tenant_silent_count,
    tenant_state_counts,
    token_expiries_by_day,
)
from tenants.selectors.tokens import token_refresh_overdue

SYNC_CHART_DAYS = 30
TOKEN_CHART_DAYS = 14
# Beat sends the heartbeat every minute; three missed beats means the workers need a look.
HEARTBEAT_STALE = timedelta(minutes=3)
# connect's SyncRecord.Outcome values, bottom of the stack first, with their chart colour.
SYNC_OUTCOME_SERIES = [
    ("in_sync", "In sync", "s-ok"),
    ("changed", "Created or repaired", "s-info"),
    ("drift", "Drift reported", "s-warn"),
    ("failed", "Failed", "s-bad"),
    ("skipped", "Skipped", "s-idle"),
]


def _tenant_list_url(**params) -> str:
    return f"{reverse('tenant-list')}?{urlencode(params)}"


def _sync_chart(days: int) -> dict:
    """Stacked bars from Connect's daily rollup."""
    rows = connect_sync_outcomes_by_day(days=days)
    labels = [f"{row['date']:%d %b}" for row in rows]
    series = [
        Series(label, css, [int(row.get(key, 0)) for row in rows])
        for key, label, css in SYNC_OUTCOME_SERIES
    ]
    table = [
        {"date": row["date"], "values": [int(row.get(key, 0)) for key, _, _ in SYNC_OUTCOME_SERIES]}
        for row in rows
    ]
    return {
        "svg": stacked_bar_chart(
            title=f"Connect syncs per day, last {days} days",
            labels=labels,
            series=series,
            y_label="syncs",
            x_label="day (UTC)",
            empty_text=f"No Connect syncs in the last {days} days",
        ),
        "columns": [label for _, label, _ in SYNC_OUTCOME_SERIES],
        "table": table,
    }


def _health_counts() -> list[dict]:
    counts = connect_health_counts()
    return [
        {
            "label": label,
            "badge": badge,
            "count": counts.get(key, 0),
            "url": _tenant_list_url(health=key),
        }
        for key, (label, badge) in CONNECT_HEALTH.items()
    ]


def _deliveries() -> dict:
    """Failed deliveries and completeness (recovery app), with the links the tiles need."""
    summary = recovery_dashboard_summary()
    summary["url"] = reverse("delivery-failures")
    for tenant in summary["worst"]:
        tenant["url"] = reverse("tenant-delivery-failures", kwargs={"tenant_id": tenant["pk"]})
    return summary


def _overdue_work(now) -> dict:
    """Work waiting longer than its lease, across syncs, token refreshes and bulk items: how
    many, and how long past its lease the oldest is (the next beat tick re-enqueues them)."""
    found = [
        connect_sync_overdue(now=now),
        token_refresh_overdue(now=now),
        bulk_items_overdue(now=now),
    ]
    ends = [oldest for _, oldest in found if oldest is not None]
    return {
        "count": sum(n for n, _ in found),
        "oldest_past_lease": _age_words((now - min(ends)).total_seconds()) if ends else "",
    }


def _age_words(seconds: float) -> str:
    if seconds < 120:
        return f"{int(seconds)} s"
    if seconds < 2 * 3600:
        return f"{int(seconds // 60)} min"
    return f"{int(seconds // 3600)} h"


def _forwarding_attention() -> dict:
    """Paused forwarding destinations, shaped like the tenants' "needs a human" entries."""
    count, paused = destinations_paused(limit=5)
    where = (
        reverse("integration-destinations", kwargs={"integration_id": paused[0].integration_id})
        if paused
        else reverse("integration-list")
    )
    return {
        "key": "forwarding_paused",
        "label": "Forwarding paused",
        "help": "A destination of your application failed continuously; fix it, then resume.",
        "count": count,
        "url": where,
        "tenants": [
            {
                "name": f"{d.name} ({d.integration.name})",
                "reason": d.pause_reason,
                "url": reverse("destination-detail", kwargs={"destination_id": d.pk}),
            }
            for d in paused
        ],
        "more": max(0, count - len(paused)),
    }


class DashboardView(StaffRequiredMixin, TemplateView):
    template_name = "portal/dashboard.html"

    def get_context_data(self, **kwargs):
        states = tenant_state_counts()
        for state in states:
            state["url"] = _tenant_list_url(status=state["key"])
        attention = tenant_attention_summary()
        for item in attention["categories"]:
            item["url"] = _tenant_list_url(attention=item["key"])
            for tenant in item["tenants"]:
                tenant["url"] = reverse("tenant-detail", kwargs={"tenant_id": tenant["pk"]})
        expiries = token_expiries_by_day(days=TOKEN_CHART_DAYS)
        heartbeat = worker_heartbeat_latest()
        archived = next(s["count"] for s in states if s["key"] == "archived")
        tenants_all = sum(s["count"] for s in states)
        return super().get_context_data(
            states=states,
            # The tiles add up to tenants_all; the list shows every tenant but the archived.
            tenants_all=tenants_all,
            tenants_listed=tenants_all - archived,
            attention=attention["categories"],
            attention_tenants=attention["tenants"],
            attention_reasons=attention["reasons"],
            attention_url=_tenant_list_url(attention=ANY_ATTENTION),
            # Not a tenant's state: listed after the tenants' reasons, counted apart.
            forwarding_attention=_forwarding_attention(),
            health=_health_counts(),
            silent_count=tenant_silent_count(),
            silent_days=SILENT_DAYS,
            silent_url=_tenant_list_url(health=SILENT),
            deliveries=_deliveries(),
            sync_chart=_sync_chart(SYNC_CHART_DAYS),
            token_chart={
                "svg": bar_chart(
                    title=f"Consents lapsing, next {TOKEN_CHART_DAYS} days",
                    labels=[f"{day:%d %b}" for day, _ in expiries],
                    values=[n for _, n in expiries],
                    css_class="s-warn",
                    series_name="refresh tokens ending",
                    y_label="tenants",
                    x_label="day (UTC)",
                    empty_text=f"No consent lapses in the next {TOKEN_CHART_DAYS} days",
                ),
                "table": expiries,
                "total": sum(n for _, n in expiries),
            },
            heartbeat=heartbeat,
            overdue=_overdue_work(timezone.now()),
            heartbeat_stale=heartbeat is not None
            and timezone.now() - heartbeat.last_seen_at > HEARTBEAT_STALE,
            **kwargs,
        )
