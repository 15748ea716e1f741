"""Bulk operations over many tenants: one row per tenant, one small task per row.

Domain apps register a handler per kind in their AppConfig.ready():

    bulk.register(BulkOperation.Kind.CONNECT_PUSH, connect_push_for_bulk)

A handler takes `tenant_id` and `actor_id` and returns a `BulkResult`; it may raise, which counts as
a failure with the exception's message (never a secret: the handlers' errors are our own).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from common.models import BulkOperation, BulkOperationItem
from common.services import audit_record


@dataclass(frozen=True)
class BulkResult:
    outcome: str  # BulkOperationItem.Outcome
    message: str = ""


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
    items = BulkOperationItem.objects.bulk_create(
        [
            BulkOperationItem(operation=operation, tenant_id=tenant_id, tenant_label=label[:200])
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
    from common.tasks import bulk_item_run

    item_ids = [item.pk for item in items]
    transaction.on_commit(lambda: [bulk_item_run.delay(item_id) for item_id in item_ids])
    return operation


def bulk_item_run(*, item_id: int) -> None:
    """Run one item once. Safe to call twice: a finished item is left alone."""
    item = BulkOperationItem.objects.select_related("operation").get(pk=item_id)
    if item.outcome != BulkOperationItem.Outcome.PENDING:
        return
    operation = item.operation
    handler = _handlers[operation.kind]
    try:
        result = handler(tenant_id=item.tenant_id, actor_id=operation.created_by_id)
    except Exception as exc:
        result = BulkResult(BulkOperationItem.Outcome.FAILED, f"{type(exc).__name__}: {exc}"[:500])
    _item_finish(item_id=item.pk, operation_id=operation.pk, result=result)


@transaction.atomic
def _item_finish(*, item_id: int, operation_id: int, result: BulkResult) -> None:
    # Only the first finisher counts: a redelivered task must not count the same tenant twice.
    updated = BulkOperationItem.objects.filter(
        pk=item_id, outcome=BulkOperationItem.Outcome.PENDING
    ).update(outcome=result.outcome, message=result.message[:500], finished_at=timezone.now())
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
