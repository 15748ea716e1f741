"""Handlers for `common.bulk`: push or resync one tenant as part of a bulk operation.

The bulk item task runs the reconcile itself, so the operation's per-tenant outcome is the
reconcile's. When the account's budget is spent or DocuSign is briefly unavailable, the item stays
pending and its task tries again later (`BulkItemRetry`).
"""

from common.bulk import BulkItemRetry, BulkResult
from common.models import BulkOperationItem
from connect.budget import BudgetExhausted
from connect.models import SyncRecord
from connect.services.reconcile import SyncRunningElsewhere, connect_tenant_reconcile
from connect.services.sync import TRANSIENT_ERRORS

Item = BulkOperationItem.Outcome
_ITEM_OUTCOMES: dict[str, str] = {
    SyncRecord.Outcome.IN_SYNC: Item.SUCCEEDED,
    SyncRecord.Outcome.CHANGED: Item.SUCCEEDED,
    SyncRecord.Outcome.DRIFT: Item.SUCCEEDED,
    SyncRecord.Outcome.FAILED: Item.FAILED,
    SyncRecord.Outcome.SKIPPED: Item.SKIPPED,
}
_SUMMARIES: dict[str, str] = {
    SyncRecord.Outcome.IN_SYNC: "Already in sync.",
    SyncRecord.Outcome.CHANGED: "Pushed: {n} change(s).",
    SyncRecord.Outcome.DRIFT: "Drift reported (template set to report only).",
}


def _run(*, tenant_id: int, trigger: str) -> BulkResult:
    try:
        result = connect_tenant_reconcile(tenant_id=tenant_id, trigger=trigger)
    except (BudgetExhausted, SyncRunningElsewhere, *TRANSIENT_ERRORS) as exc:
        raise BulkItemRetry(str(exc)[:400], retry_after=getattr(exc, "retry_after", None)) from None
    applied = sum(1 for c in result.changes if c.get("applied"))
    message = result.message or _SUMMARIES.get(result.outcome, "").format(n=applied)
    return BulkResult(_ITEM_OUTCOMES[result.outcome], message)


def connect_push_for_bulk(*, tenant_id: int, actor_id: int | None) -> BulkResult:
    """Push: make the account match, even for templates that only report drift."""
    return _run(tenant_id=tenant_id, trigger=SyncRecord.Trigger.BULK_PUSH)


def connect_resync_for_bulk(*, tenant_id: int, actor_id: int | None) -> BulkResult:
    """Resync: a regular reconcile, each template by its own policy."""
    return _run(tenant_id=tenant_id, trigger=SyncRecord.Trigger.BULK_RESYNC)
