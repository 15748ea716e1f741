"""Alerts follow the fleet's "needs a human" categories: a tenant entering one opens an alert and
sends one notice; leaving it resolves the alert and sends a "resolved" notice. One open alert per
tenant and reason (a database constraint) is what keeps a flapping check from repeating itself.
Muted reasons send nothing until the mute ends. A daily digest lists what is still open.

Called from Celery tasks (alerts/tasks.py), never from signals: `alerts_evaluate` runs on beat and
enqueues one `alert_notify` per alert that has a notice due.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from alerts.models import AlertDigest, AlertMute, TenantAlert
from alerts.services.channels import Notice, notice_send
from common.services import audit_record
from tenants.models import Tenant
from tenants.selectors.attention import ATTENTION, tenant_attention_map

logger = logging.getLogger(__name__)

REASON_LABELS = {a.key: a.label for a in ATTENTION}
MUTE_CHOICES = [(1, "1 day"), (7, "7 days"), (30, "30 days")]


@dataclass
class Evaluation:
    opened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    # Alerts with a notice due now (new, resolved, or open and no longer muted).
    to_notify: list[int] = field(default_factory=list)


def _muted(now: datetime) -> Exists:
    return Exists(
        AlertMute.objects.filter(
            tenant_id=OuterRef("tenant_id"), reason=OuterRef("reason"), muted_until__gt=now
        )
    )


def alerts_evaluate(*, now: datetime | None = None) -> Evaluation:
    """Compare the fleet's "needs a human" set with the open alerts: open the new ones, resolve
    the gone ones, and say which need a notice. Safe to run twice (the second finds nothing)."""
    now = now or timezone.now()
    current = tenant_attention_map()
    result = Evaluation()
    with transaction.atomic():
        open_alerts = {
            (a.tenant_id, a.reason): a
            for a in TenantAlert.objects.select_for_update().filter(resolved_at__isnull=True)
        }
        for (tenant_id, reason), alert in open_alerts.items():
            if reason not in current.get(tenant_id, {}):
                alert.resolved_at = now
                alert.save(update_fields=["resolved_at"])
                result.resolved.append(alert.pk)
            elif alert.detail != current[tenant_id][reason][:500]:
                alert.detail = current[tenant_id][reason][:500]
                alert.save(update_fields=["detail"])
        for tenant_id, reasons in current.items():
            for reason, detail in reasons.items():
                if (tenant_id, reason) in open_alerts:
                    continue
                try:
                    with transaction.atomic():
                        alert = TenantAlert.objects.create(
                            tenant_id=tenant_id, reason=reason, detail=detail[:500], opened_at=now
                        )
                except IntegrityError:
                    continue  # a concurrent run opened it: one alert, one notice
                result.opened.append(alert.pk)
    result.to_notify = list(
        TenantAlert.objects.filter(resolved_at__isnull=True, notified_at__isnull=True)
        .exclude(_muted(now))
        .values_list("pk", flat=True)
    ) + list(
        TenantAlert.objects.filter(
            resolved_at__isnull=False,
            notified_at__isnull=False,
            resolved_notified_at__isnull=True,
        ).values_list("pk", flat=True)
    )
    if result.opened or result.resolved:
        logger.info("alerts: %d opened, %d resolved", len(result.opened), len(result.resolved))
    return result


def _recipients(tenant: Tenant) -> list[str]:
    owner = tenant.owner
    if owner is not None and owner.is_active and owner.email:
        return [owner.email]
    return list(settings.STAFF_ALERT_EMAILS)


def _tenant_url(tenant: Tenant) -> str:
    return (
        f"{settings.PORTAL_PUBLIC_URL}{reverse('tenant-detail', kwargs={'tenant_id': tenant.pk})}"
    )


def _notice(alert: TenantAlert, *, resolved: bool) -> Notice:
    tenant = alert.tenant
    label = REASON_LABELS.get(alert.reason, alert.reason)
    url = _tenant_url(tenant)
    if resolved:
        subject = f"[Resolved] {tenant.name}: {label}"
        text = (
            f"{tenant.name} no longer needs a human for “{label}” (open since "
            f"{alert.opened_at:%Y-%m-%d %H:%M} UTC).\n{url}"
        )
    else:
        subject = f"[Needs a human] {tenant.name}: {label}"
        text = f"{alert.detail}\n\nTenant page: {url}"
    kind = "alert.resolved" if resolved else "alert.opened"
    return Notice(
        kind=kind,
        subject=subject,
        text=text,
        recipients=_recipients(tenant),
        data={
            "tenant": {"id": tenant.pk, "name": tenant.name, "url": url},
            "reason": alert.reason,
            "label": label,
            "detail": alert.detail,
            "opened_at": alert.opened_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        },
        message_id=f"alert_{alert.pk}_{'resolved' if resolved else 'opened'}",
    )


def alert_notify(*, alert_id: int, now: datetime | None = None) -> str:
    """Send the one notice due for this alert, if any: "entered" for an open, unmuted alert not
    notified yet; "resolved" for a resolved one whose entry was notified. Claimed before sending,
    so a second run (or a redelivered task) sends nothing. Returns what it did."""
    now = now or timezone.now()
    alert = TenantAlert.objects.select_related("tenant__owner").filter(pk=alert_id).first()
    if alert is None:
        return "gone"
    if alert.is_open:
        muted = AlertMute.objects.filter(
            tenant_id=alert.tenant_id, reason=alert.reason, muted_until__gt=now
        ).exists()
        if muted:
            return "muted"
        claimed = TenantAlert.objects.filter(
            pk=alert.pk, resolved_at__isnull=True, notified_at__isnull=True
        ).update(notified_at=now)
        resolved = False
    else:
        claimed = TenantAlert.objects.filter(
            pk=alert.pk, notified_at__isnull=False, resolved_notified_at__isnull=True
        ).update(resolved_notified_at=now)
        resolved = True
    if not claimed:
        return "already"
    errors = notice_send(_notice(alert, resolved=resolved))
    if errors:
        TenantAlert.objects.filter(pk=alert.pk).update(last_error="; ".join(errors)[:300])
    return "resolved" if resolved else "opened"


def alerts_digest_send(*, now: datetime | None = None) -> int | None:
    """Once a day: every open, unmuted alert in one notice to the staff alert list. Returns how
    many it listed, or None when today's digest already went out."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            digest = AlertDigest.objects.create(day=now.date(), sent_at=now)
    except IntegrityError:
        return None
    alerts = list(
        TenantAlert.objects.filter(resolved_at__isnull=True)
        .exclude(_muted(now))
        .select_related("tenant")
        .order_by("tenant__name", "reason")
    )
    AlertDigest.objects.filter(pk=digest.pk).update(open_count=len(alerts))
    if not alerts:
        return 0
    lines = [
        f"- {a.tenant.name}: {REASON_LABELS.get(a.reason, a.reason)} (since "
        f"{a.opened_at:%Y-%m-%d}): {a.detail}\n  {_tenant_url(a.tenant)}"
        for a in alerts
    ]
    tenants = len({a.tenant_id for a in alerts})
    notice_send(
        Notice(
            kind="alert.digest",
            subject=f"[Digest] {tenants} tenant{'s' if tenants != 1 else ''} need a human "
            f"({len(alerts)} reason{'s' if len(alerts) != 1 else ''})",
            text="\n".join(lines),
            recipients=list(settings.STAFF_ALERT_EMAILS),
            data={
                "day": now.date().isoformat(),
                "alerts": [
                    {"tenant_id": a.tenant_id, "tenant": a.tenant.name, "reason": a.reason}
                    for a in alerts
                ],
            },
            message_id=f"digest_{now.date().isoformat()}",
        )
    )
    return len(alerts)


@transaction.atomic
def alert_mute(
    *, tenant: Tenant, reason: str, days: int, actor: Any, request: HttpRequest | None = None
) -> AlertMute:
    if reason not in REASON_LABELS:
        raise ValueError("Unknown reason.")
    until = timezone.now() + timedelta(days=days)
    mute, _ = AlertMute.objects.update_or_create(
        tenant=tenant,
        reason=reason,
        defaults={"muted_until": until, "created_by_label": actor.get_username()[:150]},
    )
    audit_record(
        action="alert.mute",
        actor=actor,
        target=tenant,
        message=f"“{REASON_LABELS[reason]}” muted until {until:%Y-%m-%d %H:%M} UTC",
        request=request,
    )
    return mute


@transaction.atomic
def alert_unmute(
    *, tenant: Tenant, reason: str, actor: Any, request: HttpRequest | None = None
) -> None:
    deleted, _ = AlertMute.objects.filter(tenant=tenant, reason=reason).delete()
    if deleted:
        audit_record(
            action="alert.unmute",
            actor=actor,
            target=tenant,
            message=f"“{REASON_LABELS.get(reason, reason)}” unmuted",
            request=request,
        )
