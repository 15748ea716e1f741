"""Copy each account's Connect failure log (and failed Connect log entries) into the portal.

DocuSign keeps a bounded number of entries for a limited time (API.md 7), so the portal keeps its
own copy. Entries are keyed by DocuSign's id: a re-read adds nothing and only refreshes the error
and retry count. Every call is reserved from the account's budget first (connect.budget).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.services import audit_record
from docusign_api import ConnectLogEntry, DocuSignError, DocuSignRateLimited, DocuSignUnavailable
from docusign_api.envelopes import parse_docusign_datetime
from recovery.models import DeliveryFailure, TenantRecovery
from recovery.services.access import account_access, docusign_problem
from tenants.models import Tenant
from tenants.services.tokens import TokenTemporarilyUnavailable, TokenUnavailable

FIRST_READ_WINDOW = timedelta(days=30)
# Entries can be written a little out of order; each read overlaps the previous one by this much.
CURSOR_OVERLAP = timedelta(minutes=10)
NO_ENVELOPE_REASON = "DocuSign's entry names no envelope, so there is nothing to republish."
TRANSIENT = (DocuSignUnavailable, DocuSignRateLimited, TokenTemporarilyUnavailable)
Source = DeliveryFailure.Source
State = DeliveryFailure.State


def recovery_row(tenant_id: int) -> TenantRecovery:
    row, _ = TenantRecovery.objects.get_or_create(tenant_id=tenant_id)
    return row


def delivery_failures_copy(*, tenant_id: int) -> int:
    """Read the account's failure log (and Connect log) since the last read and store what is new.

    Returns how many entries were new. Budget exhaustion and transient DocuSign errors propagate
    for the task to retry after the window; anything else is recorded for staff to see."""
    tenant = Tenant.objects.select_related("integration").get(pk=tenant_id)
    state = recovery_row(tenant_id)
    now = timezone.now()
    since = (state.failures_cursor - CURSOR_OVERLAP) if state.failures_cursor else None
    since = since or now - FIRST_READ_WINDOW
    entries: list[tuple[str, ConnectLogEntry]] = []
    try:
        access = account_access(tenant=tenant)
        api = access.connect()
        access.reserve()
        entries += [(Source.FAILURE_LOG, e) for e in api.failures(from_date=since)]
        if settings.RECOVERY_READ_CONNECT_LOGS:
            access.reserve()
            entries += [(Source.CONNECT_LOG, e) for e in api.logs(from_date=since) if e.error]
    except TRANSIENT:
        raise
    except TokenUnavailable as exc:
        return _record_error(tenant, f"No usable token ({exc.code}): {exc}")
    except DocuSignError as exc:
        return _record_error(tenant, docusign_problem(exc))
    added = _store(tenant=tenant, entries=entries, now=now)
    if added:
        audit_record(
            action="recovery.failures.copy",
            actor=None,
            actor_label="scheduler",
            target=tenant,
            message=f"{added} new failed Connect deliveries copied from DocuSign",
        )
    return added


def _record_error(tenant: Tenant, error: str) -> int:
    """Show why the log could not be read; audit it when the reason is new (a lasting problem is
    in the audit log once, not at every interval)."""
    error = error[:300]
    row = TenantRecovery.objects.filter(tenant_id=tenant.pk)
    if row.exclude(failures_error=error).update(failures_error=error):
        audit_record(
            action="recovery.failures.copy",
            actor=None,
            actor_label="scheduler",
            target=tenant,
            outcome="failure",
            message=f"DocuSign's failure log could not be read: {error}",
        )
    row.update(failures_checked_at=timezone.now())
    return 0


@transaction.atomic
def _store(*, tenant: Tenant, entries: list[tuple[str, ConnectLogEntry]], now: datetime) -> int:
    existing = {
        (row.source, row.source_id): row
        for row in DeliveryFailure.objects.select_for_update().filter(
            tenant=tenant,
            source__in=[Source.FAILURE_LOG, Source.CONNECT_LOG],
            source_id__in=[_source_id(s, e) for s, e in entries],
        )
    }
    # A failed delivery the failure log holds (now, or when an earlier read copied it) is not
    # counted twice from the Connect log, which keeps its entries longer.
    logged = {(e.envelope_id, e.connect_id) for s, e in entries if s == Source.FAILURE_LOG}
    logged |= set(
        DeliveryFailure.objects.filter(
            tenant=tenant,
            source=Source.FAILURE_LOG,
            envelope_id__in=[e.envelope_id for s, e in entries if s == Source.CONNECT_LOG],
        ).values_list("envelope_id", "connect_id")
    )
    new: list[DeliveryFailure] = []
    newest = None
    for source, entry in entries:
        created = parse_docusign_datetime(entry.created)
        newest = max(filter(None, [newest, created]), default=None)
        row = existing.get((source, _source_id(source, entry)))
        if row is not None:
            _refresh(row, entry, now)
            continue
        if source == Source.CONNECT_LOG and (entry.envelope_id, entry.connect_id) in logged:
            continue
        new.append(_new_row(tenant, source, entry, created, now))
    DeliveryFailure.objects.bulk_create(new, ignore_conflicts=True)
    updates = {"failures_checked_at": now, "failures_error": ""}
    if newest is not None:
        updates["failures_cursor"] = newest
    TenantRecovery.objects.filter(tenant_id=tenant.pk).update(**updates)
    return len(new)


def _source_id(source: str, entry: ConnectLogEntry) -> str:
    return (entry.failure_id if source == Source.FAILURE_LOG else entry.log_id) or ""


def _status(entry: ConnectLogEntry) -> str:
    # ConnectLog.status is the envelope status of the failed post; the log's own words are not one.
    value = (entry.status or "").lower()
    return value if value in ENVELOPE_STATUSES else ""


ENVELOPE_STATUSES = {"created", "sent", "delivered", "completed", "declined", "voided"}


def _new_row(
    tenant: Tenant,
    source: str,
    entry: ConnectLogEntry,
    created: datetime | None,
    now: datetime,
) -> DeliveryFailure:
    row = DeliveryFailure(
        tenant=tenant,
        source=source,
        source_id=_source_id(source, entry),
        envelope_id=entry.envelope_id or "",
        connect_id=entry.connect_id or "",
        envelope_status=_status(entry),
        error=(entry.error or "")[:500],
        docusign_created_at=created,
        docusign_retry_count=entry.retry_count or 0,
        first_seen_at=now,
        last_seen_at=now,
    )
    if not row.envelope_id:
        row.state = State.CANNOT_REPUBLISH
        row.state_reason = NO_ENVELOPE_REASON
    return row


def _refresh(row: DeliveryFailure, entry: ConnectLogEntry, now: datetime) -> None:
    """DocuSign's newer word on an entry already copied: its error and retry count. The state is
    left alone (a republish that failed again shows its own answer)."""
    row.error = (entry.error or row.error)[:500]
    row.docusign_retry_count = entry.retry_count or row.docusign_retry_count
    row.last_seen_at = now
    row.save(update_fields=["error", "docusign_retry_count", "last_seen_at"])


def tenants_due_for_failures_copy() -> list[int]:
    """Linked, consented tenants whose failure log was not copied within the interval."""
    cutoff = timezone.now() - timedelta(seconds=settings.RECOVERY_FAILURES_INTERVAL_S)
    return list(
        Tenant.objects.filter(
            archived_at__isnull=True,
            account__isnull=False,
            status__in=[Tenant.Status.CONSENTED, Tenant.Status.ACTIVE],
        )
        .exclude(recovery__failures_checked_at__gte=cutoff)
        .values_list("pk", flat=True)
    )
