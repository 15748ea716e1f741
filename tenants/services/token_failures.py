"""What a failed token refresh means, and how it is recorded.

Failures fall in three groups (the client's taxonomy, `docusign_api.errors`):
- transient (DocuSign unavailable, rate limited, timed out): the tenant stays healthy, the failure
  is counted, the scheduler retries with backoff;
- terminal (`invalid_grant`, `consent_required`, `unauthorized_client`): the tenant needs a human:
  status `needs_reconsent`, staff told once, no more calls until someone consents again;
- anything else (a missing secret or RSA key, a request DocuSign calls malformed): status `error`
  with the reason; an operator fixes the integration.
"""

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from common.models import AuditEvent
from common.services import audit_record
from docusign_api import DocuSignError, DocuSignRateLimited, DocuSignUnavailable
from tenants.models import Tenant, TenantStatusChange, TenantToken
from tenants.services.staff_alerts import staff_alert_on_commit, tenant_page_link
from tenants.services.status import tenant_status_set

logger = logging.getLogger(__name__)

HEALTHY_STATUSES = (Tenant.Status.CONSENTED, Tenant.Status.ACTIVE)
# A refresh call reached DocuSign, which rotated the refresh token, and the process died before
# storing the answer: the next refresh sends the old token and gets invalid_grant.
REFRESH_INTERRUPTED_REASON = (
    "A token refresh was interrupted after DocuSign rotated the refresh token; the client admin "
    "must consent again."
)
TRANSIENT_ERRORS = (DocuSignUnavailable, DocuSignRateLimited)


def token_error_code(exc: DocuSignError) -> str:
    """The most specific short reason: DocuSign's description when it names one
    (`no_valid_keys_or_signatures`), else the error code, else the kind of failure."""
    message = (exc.message or "").strip()
    if message and " " not in message and len(message) <= 64:
        return message
    if exc.error_code:
        return exc.error_code[:64]
    if isinstance(exc, DocuSignUnavailable):
        return "timeout" if "timed out" in message else "unavailable"
    return type(exc).__name__[:64]


def token_failure_count(*, tenant_id: int, code: str) -> None:
    # Its own short transaction: the refresh's transaction has been rolled back by now.
    with transaction.atomic():
        TenantToken.objects.filter(tenant_id=tenant_id).update(
            failure_count=F("failure_count") + 1,
            last_error_code=code[:64],
            last_error_at=timezone.now(),
        )


def tenant_token_reconsent_flag(
    *, tenant: Tenant, error_code: str, actor_label: str, reason: str | None = None
) -> bool:
    """Move the tenant to `needs_reconsent` and tell staff, once: a second caller finds the status
    already set and does nothing. Returns True when this call flagged it. `reason` replaces the
    generic one when the cause is known."""
    reason = reason or (
        f"DocuSign refused the token refresh ({error_code}); the client admin must consent again."
    )
    with transaction.atomic():
        flagged = tenant_status_set(
            tenant=tenant,
            to_status=Tenant.Status.NEEDS_RECONSENT,
            reason=reason,
            actor_label=actor_label,
        )
        if not flagged:
            return False
        audit_record(
            action="token.reconsent_needed",
            actor_label=actor_label,
            target=tenant,
            outcome=AuditEvent.Outcome.FAILURE,
            message=reason,
        )
        staff_alert_on_commit(
            subject=f"{tenant.name} needs to reconnect DocuSign",
            body=(
                f"The DocuSign grant of {tenant.name} stopped working ({error_code}).\n"
                f"{reason}\n"
                "The portal has stopped using it. Send a re-consent invite from the tenant's page"
                f" ({tenant_page_link(tenant)})."
            ),
        )
    logger.warning("tenant %s needs re-consent (%s)", tenant.pk, error_code)
    return True


def token_configuration_error_record(
    *, tenant_id: int, message: str, code: str, actor_label: str
) -> None:
    """The integration cannot sign the request, or DocuSign calls it malformed: an operator must
    act, so a healthy tenant is shown as `error` with the reason."""
    token_failure_count(tenant_id=tenant_id, code=code)
    tenant = Tenant.objects.get(pk=tenant_id)
    if tenant.status in HEALTHY_STATUSES:
        tenant_status_set(
            tenant=tenant, to_status=Tenant.Status.ERROR, reason=message, actor_label=actor_label
        )
    logger.warning("token refresh for tenant %s cannot run (%s)", tenant_id, code)


def token_refresh_gave_up(*, tenant_id: int, actor_label: str = "scheduler") -> bool:
    """The scheduler's retries ran out on transient errors: show the tenant as `error` (it keeps
    being retried on every schedule, and the next success brings it back). Returns True when this
    call flagged it."""
    row = TenantToken.objects.select_related("tenant").filter(tenant_id=tenant_id).first()
    if row is None or row.tenant.status not in HEALTHY_STATUSES:
        return False
    return tenant_status_set(
        tenant=row.tenant,
        to_status=Tenant.Status.ERROR,
        reason=(
            f"Token refresh failed {row.failure_count} times in a row "
            f"(last: {row.last_error_code or 'unknown'}); it is retried on every schedule."
        ),
        actor_label=actor_label,
    )


def token_recovered_record(*, tenant: Tenant, actor_label: str) -> None:
    """A refresh worked for a tenant shown as `error`: back to the status it had before."""
    back_to = _previous_healthy_status(tenant)
    moved = tenant_status_set(
        tenant=tenant,
        to_status=back_to,
        reason="Token refresh works again.",
        actor_label=actor_label,
    )
    if moved:
        audit_record(
            action="token.recovered",
            actor_label=actor_label,
            target=tenant,
            message=f"Tokens work again; status back to {Tenant.Status(back_to).label}.",
        )


def _previous_healthy_status(tenant: Tenant) -> str:
    """The status the tenant had before it was flagged (consented or active)."""
    flagged = (
        TenantStatusChange.objects.filter(tenant=tenant, to_status=tenant.status)
        .order_by("-changed_at", "-id")
        .first()
    )
    if flagged is not None and flagged.from_status in HEALTHY_STATUSES:
        return flagged.from_status
    return Tenant.Status.CONSENTED
