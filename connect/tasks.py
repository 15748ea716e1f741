"""Celery tasks of Connect sync: a beat task that fans out, and one small task per tenant.

Tasks take ids and call services. A spent budget reschedules the task for when the window resets
(no DocuSign call was made); transient DocuSign errors are retried with exponential backoff, and
the final failure is recorded by a service.
"""

import logging

from celery import shared_task

from connect.budget import BudgetExhausted, budget_windows_prune
from connect.models import SyncRecord
from connect.selectors import connect_due_tenant_ids
from connect.services.reconcile import connect_tenant_reconcile
from connect.services.sync import (
    TRANSIENT_ERRORS,
    connect_sync_failure_record,
    connect_sync_queued_mark,
)

logger = logging.getLogger(__name__)

MAX_TRANSIENT_RETRIES = 5
# Budget reschedules are not failures; this only stops a tenant cycling forever.
MAX_BUDGET_RETRIES = 50


def _backoff(retries: int) -> int:
    return min(600, 10 * 2**retries)


@shared_task(name="connect.tasks.connect_sync_due", ignore_result=True)
def connect_sync_due() -> int:
    """Beat: enqueue one sync per tenant whose last sync is older than the interval."""
    tenant_ids = connect_due_tenant_ids()
    if tenant_ids:
        connect_sync_queued_mark(tenant_ids=tenant_ids)
        # One broker connection for the whole fan-out, not one acquired per message.
        with connect_tenant_sync.app.producer_or_acquire() as producer:
            for tenant_id in tenant_ids:
                connect_tenant_sync.apply_async((tenant_id,), producer=producer)
    budget_windows_prune()
    return len(tenant_ids)


@shared_task(
    bind=True,
    name="connect.tasks.connect_tenant_sync",
    ignore_result=True,
    max_retries=MAX_BUDGET_RETRIES + MAX_TRANSIENT_RETRIES,
)
def connect_tenant_sync(
    self, tenant_id: int, trigger: str = SyncRecord.Trigger.SCHEDULE, transient_tries: int = 0
) -> None:
    """Reconcile one tenant. Safe to run twice: the reconcile lists before it writes."""
    try:
        connect_tenant_reconcile(tenant_id=tenant_id, trigger=trigger)
    except BudgetExhausted as exc:
        if self.request.retries >= MAX_BUDGET_RETRIES:
            connect_sync_failure_record(tenant_id=tenant_id, trigger=trigger, message=str(exc))
            return
        raise self.retry(countdown=exc.retry_after, exc=exc) from None
    except TRANSIENT_ERRORS as exc:
        if transient_tries >= MAX_TRANSIENT_RETRIES:
            connect_sync_failure_record(
                tenant_id=tenant_id,
                trigger=trigger,
                message=f"Gave up after {transient_tries + 1} tries: {exc}",
            )
            return
        retry_after = getattr(exc, "retry_after", None)
        raise self.retry(
            countdown=retry_after or _backoff(transient_tries),
            exc=exc,
            args=(),
            kwargs={
                "tenant_id": tenant_id,
                "trigger": trigger,
                "transient_tries": transient_tries + 1,
            },
        ) from None
