from datetime import datetime

from django.db.models import Count, Min, QuerySet

from common.models import AuditEvent, BulkOperation, BulkOperationItem, WorkerHeartbeat


def audit_event_list(
    *,
    actor: str = "",
    action: str = "",
    outcome: str = "",
    target_type: str = "",
    target_id: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if actor:
        events = events.filter(actor_label__icontains=actor)
    if action:
        events = events.filter(action__startswith=action)
    if outcome:
        events = events.filter(outcome=outcome)
    if target_type:
        events = events.filter(target_type=target_type)
    if target_id:
        events = events.filter(target_id=target_id)
    if since:
        events = events.filter(occurred_at__gte=since)
    if until:
        events = events.filter(occurred_at__lt=until)
    return events.order_by("-occurred_at", "-id")


def audit_action_choices() -> list[str]:
    return list(
        AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()[:200]
    )


def worker_heartbeat_latest() -> WorkerHeartbeat | None:
    return WorkerHeartbeat.objects.order_by("-last_seen_at").first()


def bulk_operation_get(*, operation_id: int) -> BulkOperation:
    return BulkOperation.objects.get(pk=operation_id)


def bulk_operation_items(*, operation_id: int) -> QuerySet[BulkOperationItem]:
    return BulkOperationItem.objects.filter(operation_id=operation_id).order_by("id")


def bulk_items_overdue(*, now: datetime) -> tuple[int, datetime | None]:
    """Pending bulk items past their lease: how many, and the earliest lease end."""
    found = BulkOperationItem.objects.filter(
        outcome=BulkOperationItem.Outcome.PENDING, lease_expires_at__lt=now
    ).aggregate(n=Count("pk"), oldest=Min("lease_expires_at"))
    return found["n"], found["oldest"]
