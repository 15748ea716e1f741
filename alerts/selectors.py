"""Reads for the tenant page's alerts panel."""

from django.utils import timezone

from alerts.models import AlertMute, TenantAlert
from alerts.services.alerts import MUTE_CHOICES, REASON_LABELS
from tenants.models import Tenant


def alerts_tenant_panel(*, tenant: Tenant) -> dict:
    """Open alerts with their mute state, the last resolved ones, and the tenant's owner."""
    now = timezone.now()
    mutes = {
        m.reason: m for m in AlertMute.objects.filter(tenant=tenant, muted_until__gt=now).order_by()
    }
    alerts = list(TenantAlert.objects.filter(tenant=tenant).order_by("-opened_at", "-id")[:20])

    def row(a: TenantAlert) -> dict:
        return {
            "alert": a,
            "label": REASON_LABELS.get(a.reason, a.reason),
            "muted_until": mutes[a.reason].muted_until if a.reason in mutes else None,
        }

    return {
        "tenant": tenant,
        "owner": tenant.owner,
        "open": [row(a) for a in alerts if a.is_open],
        "resolved": [row(a) for a in alerts if not a.is_open][:5],
        "mute_choices": MUTE_CHOICES,
    }
