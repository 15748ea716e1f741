"""Republish failed Connect deliveries: one envelope, every failure of a tenant, or every failure
of the fleet between two times (after an outage).

Staff pick a scope; `delivery_failures_republish` marks the chosen failures queued and starts a
bulk operation with one item per tenant (live progress on the bulk page). Each item sends the
tenant's queued envelope ids to DocuSign's `retry_queue` in batches, each call reserved from the
account's budget first. A failure becomes recovered only when its event arrives (matching.py).
"""

from datetime import datetime
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone

from common.bulk import BulkResult, bulk_operation_start
from common.models import BulkOperation, BulkOperationItem
from common.services import audit_record
from connect.budget import BudgetExhausted, BudgetUnavailable
from docusign_api import DocuSignError, DocuSignRateLimited, DocuSignUnavailable, RetryQueueEntry
from recovery.models import DeliveryFailure
from recovery.services.access import account_access, docusign_problem, retry_after
from tenants.models import Tenant
from tenants.services.tokens import TokenTemporarilyUnavailable, TokenUnavailable

State = DeliveryFailure.State
Item = BulkOperationItem.Outcome
# States a republish may pick up: not recovered, not already on its way, and republishable.
REPUBLISHABLE = [State.OPEN, State.FAILED_AGAIN, State.REPUBLISHED]
NOT_IN_ANSWER = "DocuSign's answer did not mention this envelope."


class RepublishError(ValueError):
    """The request cannot start (nothing to republish, a bad window); the message is for staff."""


def delivery_failures_republish(
    *,
    actor: Any,
    tenant: Tenant | None = None,
    envelope_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    request: HttpRequest | None = None,
) -> BulkOperation:
    """Queue the failures in scope and start the bulk operation that republishes them."""
    if start is not None and end is not None and start > end:
        raise RepublishError("The window's start must be before its end.")
    scope = Q(state__in=REPUBLISHABLE) & ~Q(envelope_id="")
    if tenant is not None:
        scope &= Q(tenant=tenant)
    if envelope_id:
        scope &= Q(envelope_id=envelope_id)
    if start is not None:
        scope &= Q(docusign_created_at__gte=start)
    if end is not None:
        scope &= Q(docusign_created_at__lte=end)
    with transaction.atomic():
        rows = DeliveryFailure.objects.select_for_update().filter(scope)
        tenant_ids = sorted(set(rows.values_list("tenant_id", flat=True)))
        if not tenant_ids:
            raise RepublishError("No unrecovered failure with an envelope id is in that scope.")
        names = dict(Tenant.objects.filter(pk__in=tenant_ids).values_list("pk", "name"))
        # Its items are enqueued only after commit, so they find the rows queued.
        operation = bulk_operation_start(
            kind=BulkOperation.Kind.CONNECT_REPUBLISH,
            tenants=[(tid, names.get(tid, str(tid))) for tid in tenant_ids],
            actor=actor,
            request=request,
        )
        count = rows.update(
            state=State.QUEUED, state_reason="", republish_operation_id=operation.pk
        )
        audit_record(
            action="recovery.republish.start",
            actor=actor,
            target=tenant or operation,
            message=_scope_text(count, len(tenant_ids), envelope_id, start, end),
            request=request,
        )
    return operation


def _scope_text(
    count: int,
    tenants: int,
    envelope_id: str | None,
    start: datetime | None,
    end: datetime | None,
) -> str:
    text = f"{count} failed deliveries across {tenants} tenant(s)"
    if envelope_id:
        text += f", envelope {envelope_id}"
    if start or end:
        text += f", created between {start or 'the start'} and {end or 'now'}"
    return text


def republish_for_bulk(*, tenant_id: int, actor_id: int | None) -> BulkResult:
    """The bulk item: republish the tenant's queued failures. When the budget or DocuSign's rate
    limit stops it, the rest continue in a task after the window (the item says so)."""
    from recovery.tasks import tenant_republish_queued

    queued = DeliveryFailure.objects.filter(tenant_id=tenant_id, state=State.QUEUED)
    if not queued.exists():
        # Started from the tenant list's bulk form: every unrecovered failure of the tenant.
        DeliveryFailure.objects.filter(tenant_id=tenant_id, state__in=REPUBLISHABLE).exclude(
            envelope_id=""
        ).update(state=State.QUEUED, state_reason="")
    try:
        result = tenant_republish_queued_run(tenant_id=tenant_id)
    except BudgetUnavailable as exc:
        wait = retry_after(exc)
        tenant_republish_queued.apply_async((tenant_id,), countdown=wait)
        return BulkResult(Item.SKIPPED, f"{exc} Continues in {int(wait)} s.")
    except (BudgetExhausted, DocuSignRateLimited, DocuSignUnavailable) as exc:
        wait = retry_after(exc)
        tenant_republish_queued.apply_async((tenant_id,), countdown=wait)
        return BulkResult(
            Item.SKIPPED, f"Paused by the account's API budget; continues in {int(wait)} s."
        )
    return result


def tenant_republish_queued_run(*, tenant_id: int) -> BulkResult:
    """Send every queued envelope id of the tenant to `retry_queue`, a batch per call."""
    tenant = Tenant.objects.select_related("integration").get(pk=tenant_id)
    envelope_ids = list(
        DeliveryFailure.objects.filter(tenant=tenant, state=State.QUEUED)
        .order_by("envelope_id")
        .values_list("envelope_id", flat=True)
        .distinct()
    )
    if not envelope_ids:
        return BulkResult(Item.SKIPPED, "Nothing queued for this tenant.")
    try:
        access = account_access(tenant=tenant)
    except TokenTemporarilyUnavailable:
        raise DocuSignUnavailable("no token yet") from None
    except TokenUnavailable as exc:
        _settle(tenant, envelope_ids, {}, refused=f"No usable token ({exc.code}): {exc}")
        return BulkResult(Item.FAILED, f"No usable token: {exc}")
    api = access.connect()
    sent = 0
    batch_size = max(1, settings.RECOVERY_REPUBLISH_BATCH)
    ids = iter(envelope_ids)
    while batch := list(islice(ids, batch_size)):
        access.reserve()
        try:
            entries = api.retry_queue(batch)
        except DocuSignRateLimited:
            raise  # refused before anything was sent: the batch stays queued for after the wait
        except DocuSignUnavailable:
            # No answer: DocuSign may have republished anyway. Sending the batch again could
            # deliver its events twice, so it waits for them (or the completeness check) instead.
            _settle_unanswered(tenant, batch)
            raise
        except DocuSignError as exc:
            _settle(tenant, batch, {}, refused=docusign_problem(exc))
            continue
        sent += _settle(tenant, batch, _by_envelope(entries))
    failed = (
        DeliveryFailure.objects.filter(
            tenant=tenant, envelope_id__in=envelope_ids, state=State.FAILED_AGAIN
        )
        .values("envelope_id")
        .distinct()
        .count()
    )
    message = f"{len(envelope_ids)} envelope(s) republished in batches of {batch_size}"
    if failed:
        message += f"; {failed} failed again (see the tenant's delivery failures)"
    return BulkResult(Item.FAILED if failed and not sent else Item.SUCCEEDED, message)


def _by_envelope(entries: list[RetryQueueEntry]) -> dict[str, list[RetryQueueEntry]]:
    out: dict[str, list[RetryQueueEntry]] = {}
    for entry in entries:
        out.setdefault(entry.envelope_id, []).append(entry)
    return out


@transaction.atomic
def _settle(
    tenant: Tenant, batch: list[str], answers: dict[str, list[RetryQueueEntry]], refused: str = ""
) -> int:
    """Record DocuSign's answer per envelope. Returns how many envelopes it accepted. Only queued
    rows change: one recovered meanwhile (the event came back during the call) stays so."""
    now = timezone.now()
    accepted = 0
    for envelope_id in batch:
        rows = DeliveryFailure.objects.filter(
            tenant=tenant, envelope_id=envelope_id, state=State.QUEUED
        )
        entries = answers.get(envelope_id, [])
        errors = [e.status_message or e.status for e in entries if not e.ok]
        if refused or not entries or errors:
            reason = refused or "; ".join(errors) or NOT_IN_ANSWER
            rows.update(
                state=State.FAILED_AGAIN,
                state_reason=reason[:500],
                republished_at=now,
                republish_count=F("republish_count") + 1,
            )
            continue
        accepted += 1
        rows.update(
            state=State.REPUBLISHED,
            state_reason="",
            republished_at=now,
            republish_count=F("republish_count") + 1,
        )
    return accepted


UNANSWERED = "DocuSign did not answer the republish; its events may still arrive."


def _settle_unanswered(tenant: Tenant, batch: list[str]) -> None:
    DeliveryFailure.objects.filter(tenant=tenant, envelope_id__in=batch, state=State.QUEUED).update(
        state=State.REPUBLISHED,
        state_reason=UNANSWERED,
        republished_at=timezone.now(),
        republish_count=F("republish_count") + 1,
    )


def tenant_gaps_queue(*, tenant_id: int) -> int:
    """Queue the tenant's open completeness gaps (auto-republish after a check)."""
    return DeliveryFailure.objects.filter(
        tenant_id=tenant_id,
        source=DeliveryFailure.Source.COMPLETENESS,
        state__in=[State.OPEN, State.FAILED_AGAIN],
    ).update(state=State.QUEUED, state_reason="")
