"""The fleet's "needs a human": which tenants are in each category, and why, in words staff can
act on. The dashboard, the tenant list's filter and the alerts all read them from here, so the
three always agree. The categories and their queries are in `attention_categories.py`, the
reasons' words in `attention_reasons.py`; their public names are importable from here too.
"""

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from tenants.selectors.attention_categories import (
    ANY_ATTENTION,
    ATTENTION,
    ATTENTION_CHOICES,
    ATTENTION_KEYS,
    CONNECTED_STATUSES,
    LAPSE_WARNING_DAYS,
    RATE_LIMIT_LOW_PERCENT,
    Attention,
    any_attention_q,
    attention_q,
    served_tenants,
    with_behind,
)
from tenants.selectors.attention_reasons import (
    CONSENT_FAILURE_ADVICE,
    CONSENT_FAILURE_DEFAULT_ADVICE,
    attention_reason,
    one_to_one,
    with_reason_fields,
)

__all__ = [
    "ANY_ATTENTION",
    "ATTENTION",
    "ATTENTION_CHOICES",
    "ATTENTION_KEYS",
    "ATTENTION_ORDER",
    "ATTENTION_SAMPLE",
    "CONNECTED_STATUSES",
    "CONSENT_FAILURE_ADVICE",
    "CONSENT_FAILURE_DEFAULT_ADVICE",
    "LAPSE_WARNING_DAYS",
    "RATE_LIMIT_LOW_PERCENT",
    "Attention",
    "any_attention_q",
    "attention_q",
    "one_to_one",
    "served_tenants",
    "tenant_attention_map",
    "tenant_attention_reasons",
    "tenant_attention_summary",
    "with_behind",
]

ATTENTION_SAMPLE = 5
# Which tenants a category names first: the most pressing, along an indexed column.
ATTENTION_ORDER = {
    "consent_failed": ("name",),
    "lapsing": ("token__refresh_expires_at",),
    "work_waiting": ("connect_state__lease_expires_at",),
    "connect_drift": ("-connect_state__last_sync_at",),
    "sync_failing": ("-connect_state__last_sync_at",),
    "rate_limit_low": ("connect_state__rate_limit_remaining",),
}


def tenant_attention_map(*, tenant_ids: list[int] | None = None) -> dict[int, dict[str, str]]:
    """{tenant id: {reason key: reason text}} for every served tenant that needs a human (or only
    those in `tenant_ids`): what alerts compare with the alerts already open. One query per
    category that has any."""
    now = timezone.now()
    served = served_tenants()
    if tenant_ids is not None:
        served = served.filter(pk__in=tenant_ids)
    found: dict[int, dict[str, str]] = {}
    for key in ATTENTION_KEYS:
        rows = with_reason_fields(
            key, served.filter(attention_q(key, now=now)).select_related("token", "connect_state")
        )
        for tenant in rows:
            found.setdefault(tenant.pk, {})[key] = attention_reason(key, tenant, now)
    return found


def tenant_attention_reasons(*, tenant_id: int) -> list[dict]:
    """The "needs a human" categories one tenant is in, each with its reason: one aggregate, and
    one more query only when there is any."""
    now = timezone.now()
    served = served_tenants().filter(pk=tenant_id)
    flags = served.aggregate(
        **{a.key: Count("pk", filter=attention_q(a.key, now=now)) for a in ATTENTION}
    )
    found = [a for a in ATTENTION if flags[a.key]]
    if not found:
        return []
    tenants = served.select_related("token", "connect_state")
    for attention in found:
        tenants = with_reason_fields(attention.key, tenants)
    tenant = tenants.get()
    return [
        {"key": a.key, "label": a.label, "reason": attention_reason(a.key, tenant, now)}
        for a in found
    ]


def tenant_attention_summary(*, sample: int = ATTENTION_SAMPLE) -> dict:
    """Each "needs a human" category: its count (one aggregate for all, with the number of
    distinct tenants), and the first few tenants with the reason (one LIMITed query per category
    that has any)."""
    now = timezone.now()
    served = served_tenants()
    counts = served.aggregate(
        **{a.key: Count("pk", filter=attention_q(a.key, now=now)) for a in ATTENTION},
        tenants=Count("pk", filter=any_attention_q(now)),
    )
    summary = []
    for attention in ATTENTION:
        count = counts[attention.key]
        tenants = []
        if count:
            found = with_reason_fields(
                attention.key,
                served.filter(attention_q(attention.key, now=now)).select_related(
                    "token", "connect_state"
                ),
            )
            found = found.order_by(*ATTENTION_ORDER.get(attention.key, ("name",)), "pk")[:sample]
            tenants = [
                {"pk": t.pk, "name": t.name, "reason": attention_reason(attention.key, t, now)}
                for t in found
            ]
        summary.append(
            {
                "key": attention.key,
                "label": attention.label,
                "help": attention.help.format(unanswered_days=settings.INVITE_UNANSWERED_DAYS),
                "count": count,
                "tenants": tenants,
                "more": max(0, count - len(tenants)),
            }
        )
    return {
        "categories": summary,
        "tenants": counts["tenants"],
        "reasons": sum(item["count"] for item in summary),
    }
