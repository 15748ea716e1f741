"""Bulk operations over many tenants: one row per tenant, one small task per row.

Domain apps register a handler per kind in their AppConfig.ready():

    bulk.register(BulkOperation.Kind.CONNECT_PUSH, connect_push_for_bulk)

A handler takes `tenant_id` and `actor_id` and returns a `BulkResult`. It raises `BulkItemRetry`
for a passing problem (the item stays pending and its task retries); a database error is retried
the same way; anything else fails the item with a sentence for staff (the details go to the log).
Each pending item holds a lease (common/leases.py): the bulk sweep re-enqueues an item whose lease
ran out, so every operation reaches a final state.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from common.leases import DATABASE_ERRORS, lease_seconds, lease_until
from common.models import BulkOperation, BulkOperationItem
from common.services import audit_record

logger = logging.getLogger(__name__)
UNEXPECTED = "An unexpected error stopped this item; the details are in the log."


@dataclass(frozen=True)
class BulkResult:
    outcome: str  # BulkOperationItem.Outcome
    message: str = ""


class BulkItemRetry(Exception):
    """Not now, later: DocuSign is briefly unavailable, the account's budget is spent. The message
    is what staff read if the retries run out."""

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


Handler = Callable[..., BulkResult]
_handlers: dict[str, Handler] = {}


def register(kind: str, handler: Handler) -> None:
    _handlers[kind] = handler


def bulk_kinds_registered() -> list[str]:
    """The kinds some app has registered a handler for: what the bulk form may offer."""
    return sorted(_handlers)


@transaction.atomic
def bulk_operation_start(
    *, kind: str, tenants: Iterable[tuple[int, str]], actor, request=None
) -> BulkOperation:
    """Create the operation and its items, then enqueue one task per item after commit."""
    if kind not in _handlers:
        raise ValueError(f"No handler is registered for bulk operation '{kind}'.")
    operation = BulkOperation.objects.create(kind=kind, created_by=actor)
    lease = lease_until()
    items = BulkOperationItem.objects.bulk_create(
        [
            BulkOperationItem(
                operation=operation,
                tenant_id=tenant_id,
                tenant_label=label[:200],
                lease_expires_at=lease,
            )
            for tenant_id, label in tenants
        ],
        batch_size=1000,
    )
    operation.total = len(items)
    if not items:
        operation.finished_at = timezone.now()
    operation.save(update_fields=["total", "finished_at"])
    audit_record(
        action=f"bulk.{kind}",
        actor=actor,
        target=operation,
        message=f"{len(items)} tenants",
        request=request,
    )

    item_ids = [item.pk for item in items]
    transaction.on_commit(lambda: _items_enqueue(item_ids))
    return operation


def _items_enqueue(item_ids: list[int]) -> None:
    from common.tasks import bulk_item_run

    with bulk_item_run.app.producer_or_acquire() as producer:
        for item_id in item_ids:
            bulk_item_run.apply_async((item_id,), expires=lease_seconds(), producer=producer)


def bulk_item_run(*, item_id: int) -> None:
    """Run one item once. Safe to call twice: a finished item is left alone. Raises
    `BulkItemRetry` and database errors for the task to retry."""
    item = BulkOperationItem.objects.select_related("operation").get(pk=item_id)
    if item.outcome != BulkOperationItem.Outcome.PENDING:
        return
    bulk_item_lease_renew(item_id=item.pk)
    operation = item.operation
    handler = _handlers[operation.kind]
    try:
        result = handler(tenant_id=item.tenant_id, actor_id=operation.created_by_id)
    except (BulkItemRetry, *DATABASE_ERRORS):
        raise
    except Exception:
        logger.exception("bulk item %s (%s) failed", item.pk, operation.kind)
        result = BulkResult(BulkOperationItem.Outcome.FAILED, UNEXPECTED)
    _item_finish(item_id=item.pk, operation_id=operation.pk, result=result)


def bulk_item_lease_renew(*, item_id: int, after_s: float = 0) -> None:
    """The item runs now (or retries in `after_s`): its lease runs from then."""
    BulkOperationItem.objects.filter(pk=item_id, outcome=BulkOperationItem.Outcome.PENDING).update(
        lease_expires_at=lease_until(after_s=after_s)
    )


def bulk_item_give_up(*, item_id: int, message: str) -> None:
    """The item's retries ran out on a passing problem that did not pass: a final failure."""
    item = BulkOperationItem.objects.get(pk=item_id)
    result = BulkResult(BulkOperationItem.Outcome.FAILED, message)
    _item_finish(item_id=item.pk, operation_id=item.operation_id, result=result)


def bulk_items_requeue(*, all_pending_lost: bool = False) -> int:
    """Beat: enqueue again every pending item whose lease ran out (its worker died, its message
    was lost with the broker), or every pending item when the broker was emptied; each gets a new
    lease first. Returns how many."""
    now = timezone.now()
    lost = (
        Q() if all_pending_lost else Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)
    )
    with transaction.atomic():
        item_ids = list(
            BulkOperationItem.objects.filter(lost, outcome=BulkOperationItem.Outcome.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)[:5000]
        )
        BulkOperationItem.objects.filter(pk__in=item_ids).update(lease_expires_at=lease_until())
    if item_ids:
        logger.info("bulk items re-enqueued after their lease ran out: %d", len(item_ids))
        _items_enqueue(item_ids)
    return len(item_ids)


@transaction.atomic
def _item_finish(*, item_id: int, operation_id: int, result: BulkResult) -> None:
    # Only the first finisher counts: a redelivered task must not count the same tenant twice.
    updated = BulkOperationItem.objects.filter(
        pk=item_id, outcome=BulkOperationItem.Outcome.PENDING
    ).update(
        outcome=result.outcome,
        message=result.message[:500],
        finished_at=timezone.now(),
        lease_expires_at=None,
    )
    if not updated:
        return
    counter = {
        BulkOperationItem.Outcome.SUCCEEDED: "succeeded",
        BulkOperationItem.Outcome.FAILED: "failed",
        BulkOperationItem.Outcome.SKIPPED: "skipped",
    }[result.outcome]
    BulkOperation.objects.filter(pk=operation_id).update(**{counter: F(counter) + 1})
    BulkOperation.objects.filter(
        pk=operation_id,
        finished_at__isnull=True,
        total__lte=F("succeeded") + F("failed") + F("skipped"),
    ).update(finished_at=timezone.now())
