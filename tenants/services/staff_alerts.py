"""Email to the partner's staff (STAFF_ALERT_EMAILS) about a tenant that needs a human."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from tenants.models import Tenant

logger = logging.getLogger(__name__)


def tenant_page_link(tenant: Tenant) -> str:
    """The tenant page's public address, for an email."""
    return settings.PORTAL_PUBLIC_URL + reverse("tenant-detail", kwargs={"tenant_id": tenant.pk})


def staff_alert_on_commit(*, subject: str, body: str) -> None:
    """Email staff once the caller's transaction commits (nothing is sent for a rolled-back
    change). A failing mail server costs only the email: the tenant's status still says it."""
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
            logger.warning("staff alert email failed (%s): %s", type(exc).__name__, subject)

    transaction.on_commit(send)
