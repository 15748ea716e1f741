"""Celery tasks of Connect sync: a beat task that fans out, and one small task per tenant.

Tasks take ids and call services. Each tenant's sync holds a lease (common/leases.py): renewed when
it starts and when it waits to retry, so the beat task re-enqueues only syncs that were lost. A
spent budget reschedules the task for when the window resets (no DocuSign call was made);
transient DocuSign and database errors are retried with backoff, and only DocuSign's final
failure is recorded (a database that stays away leaves the lease to run out instead).
"""

import logging

from celery import shared_task

from common.leases import (
    DATABASE_ERRORS,
    MAX_COUNTDOWN_S,
    broker_emptied,
    broker_mark,
    database_backoff_s,
    database_connection_discard,
    lease_renewal_needed,
    lease_seconds,
    retry_backoff_s,
)
from connect.budget import BudgetExhausted, budget_windows_prune
from connect.models import SyncRecord
from connect.selectors.fleet import connect_due_tenant_ids
from connect.services.reconcile import SyncRunningElsewhere, connect_tenant_reconcile
from connect.services.sync import (
    TRANSIENT_ERRORS,
    connect_sync_failure_record,
    connect_sync_lease_renew,
    connect_sync_queued_mark,
)

logger = logging.getLogger(__name__)

MAX_TRANSIENT_RETRIES = 5
MAX_DATABASE_RETRIES = 8
# Budget reschedules are not failures; this only stops a tenant cycling forever.
MAX_BUDGET_RETRIES = 50


@shared_task(name="connect.tasks.connect_sync_due", ignore_result=True)
def connect_sync_due() -> int:
    """Beat: enqueue one sync per tenant that is due (interval passed) or whose sync was lost
    (lease ran out, or the broker was emptied since the last tick). The leases are committed
    before publishing: if the broker is gone, the next tick after they run out publishes again."""
    emptied = broker_emptied(beat_task="connect_sync_due")
    tenant_ids = connect_due_tenant_ids(all_queued_lost=emptied)
    if tenant_ids:
        connect_sync_queued_mark(tenant_ids=tenant_ids)
        # One broker connection for the whole fan-out, not one acquired per message.
        with connect_tenant_sync.app.producer_or_acquire() as producer:
            for tenant_id in tenant_ids:
                connect_tenant_sync.apply_async(
                    (tenant_id,), expires=lease_seconds(), producer=producer
                )
    if emptied:
        broker_mark(beat_task="connect_sync_due")
    budget_windows_prune()
    return len(tenant_ids)


@shared_task(
    bind=True,
    name="connect.tasks.connect_tenant_sync",
    ignore_result=True,
    max_retries=None,
)
def connect_tenant_sync(
    self,
    tenant_id: int,
    trigger: str = SyncRecord.Trigger.SCHEDULE,
    transient_tries: int = 0,
    database_tries: int = 0,
) -> None:
    """Reconcile one tenant. Safe to run twice: the reconcile lists before it writes."""
    tries = {"transient_tries": transient_tries, "database_tries": database_tries}
    try:
        if lease_renewal_needed(self.request.expires):
            connect_sync_lease_renew(tenant_id=tenant_id)
        connect_tenant_reconcile(tenant_id=tenant_id, trigger=trigger)
    except SyncRunningElsewhere as exc:
        # Not a failure: the running one finishes first, then this one lists what it left.
        _retry(self, tenant_id, trigger, countdown=exc.retry_after, exc=exc, **tries)
    except BudgetExhausted as exc:
        if self.request.retries >= MAX_BUDGET_RETRIES:
            connect_sync_failure_record(tenant_id=tenant_id, trigger=trigger, message=str(exc))
            return
        _retry(self, tenant_id, trigger, countdown=exc.retry_after, exc=exc, **tries)
    except TRANSIENT_ERRORS as exc:
        if transient_tries >= MAX_TRANSIENT_RETRIES:
            connect_sync_failure_record(
                tenant_id=tenant_id,
                trigger=trigger,
                message=f"Gave up after {transient_tries + 1} tries: {exc}",
            )
            return
        countdown = getattr(exc, "retry_after", None) or retry_backoff_s(transient_tries)
        tries["transient_tries"] += 1
        _retry(self, tenant_id, trigger, countdown=countdown, exc=exc, **tries)
    except DATABASE_ERRORS as exc:
        database_connection_discard()
        logger.warning("sync of tenant %s: database error, retrying (%s)", tenant_id, exc)
        if database_tries >= MAX_DATABASE_RETRIES:
            return  # its lease runs out and the next beat tick enqueues it again
        tries["database_tries"] += 1
        raise self.retry(
            countdown=database_backoff_s(database_tries),
            expires=database_backoff_s(database_tries) + lease_seconds(),
            args=(),
            kwargs={"tenant_id": tenant_id, "trigger": trigger, **tries},
        ) from None


def _retry(task, tenant_id: int, trigger: str, *, countdown: float, exc, **tries) -> None:
    """Retry in `countdown` seconds, the lease renewed to cover the wait; a wait longer than
    MAX_COUNTDOWN_S is left to the lease sweep (no message waits that long in the broker)."""
    if countdown > MAX_COUNTDOWN_S:
        connect_sync_lease_renew(tenant_id=tenant_id, after_s=countdown - lease_seconds())
        return
    connect_sync_lease_renew(tenant_id=tenant_id, after_s=countdown)
    raise task.retry(
        countdown=countdown,
        expires=countdown + lease_seconds(),
        exc=exc,
        args=(),
        kwargs={"tenant_id": tenant_id, "trigger": trigger, **tries},
    ) from None
