"""Celery tasks of the recovery app: each takes ids, calls one service, and is safe to run twice.
Budget exhaustion and DocuSign's rate limit retry after the window, so no call is spent past the
portal's share of the account's budget."""

from celery import shared_task

from connect.budget import BudgetExhausted, BudgetUnavailable
from docusign_api import DocuSignRateLimited, DocuSignUnavailable
from recovery.services import completeness, failures, republish
from recovery.services.access import retry_after
from tenants.services.tokens import TokenTemporarilyUnavailable

WAIT_FOR = (
    BudgetExhausted,
    BudgetUnavailable,
    DocuSignRateLimited,
    DocuSignUnavailable,
    TokenTemporarilyUnavailable,
)


@shared_task(name="recovery.tasks.delivery_failures_copy_due", ignore_result=True)
def delivery_failures_copy_due() -> int:
    """Beat: one failure-log copy per tenant not copied within RECOVERY_FAILURES_INTERVAL_S."""
    tenant_ids = failures.tenants_due_for_failures_copy()
    for tenant_id in tenant_ids:
        delivery_failures_copy.delay(tenant_id)
    return len(tenant_ids)


@shared_task(name="recovery.tasks.delivery_failures_copy", bind=True, max_retries=8)
def delivery_failures_copy(self, tenant_id: int) -> int:
    try:
        return failures.delivery_failures_copy(tenant_id=tenant_id)
    except WAIT_FOR as exc:
        raise self.retry(countdown=retry_after(exc)) from exc


@shared_task(name="recovery.tasks.completeness_check_due", ignore_result=True)
def completeness_check_due() -> int:
    """Beat: one completeness check per tenant not checked within the interval."""
    tenant_ids = completeness.tenants_due_for_completeness()
    for tenant_id in tenant_ids:
        completeness_check.delay(tenant_id)
    return len(tenant_ids)


@shared_task(name="recovery.tasks.completeness_check", bind=True, max_retries=8)
def completeness_check(self, tenant_id: int) -> float | None:
    try:
        return completeness.tenant_completeness_check(tenant_id=tenant_id)
    except WAIT_FOR as exc:
        raise self.retry(countdown=retry_after(exc)) from exc


@shared_task(name="recovery.tasks.tenant_republish_queued", bind=True, max_retries=20)
def tenant_republish_queued(self, tenant_id: int) -> str:
    """The tenant's queued failures, republished (what a paused bulk item continues with)."""
    try:
        return republish.tenant_republish_queued_run(tenant_id=tenant_id).message
    except (*WAIT_FOR,) as exc:
        raise self.retry(countdown=retry_after(exc)) from exc


@shared_task(name="recovery.tasks.delivery_failures_match_event", ignore_result=True)
def delivery_failures_match_event(event_id: int) -> int:
    from recovery.services.matching import delivery_failures_match_event as match

    return match(event_id=event_id)
