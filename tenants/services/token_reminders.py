"""Reminders before a tenant's refresh token lapses and only a new consent can renew it."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from common.services import audit_record
from tenants.services.staff_alerts import staff_alert_on_commit, tenant_page_link
from tenants.services.token_rows import USABLE_STATUSES, _row_load

# Staff are reminded this long before a refresh token (and so the tenant's access) lapses.
LAPSE_WARNING = timedelta(days=7)


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
        staff_alert_on_commit(
            subject=f"{tenant.name}: DocuSign access lapses on {when:%Y-%m-%d}",
            body=(
                f"The DocuSign grant of {tenant.name} cannot be renewed by refreshing and ends on "
                f"{when:%Y-%m-%d %H:%M} UTC.\nSend a re-consent invite before then from the "
                f"tenant's page ({tenant_page_link(tenant)})."
            ),
        )
    return True
