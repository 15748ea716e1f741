"""The completeness proof: every envelope status change DocuSign reports for a recent window has
a matching Connect event in the portal, or is listed as a gap.

DocuSign's listStatusChanges names each changed envelope once with its current status (API.md 7);
the check compares those in RECOVERY_COMPLETENESS_STATUSES with the events received for the same
envelopes (`envelope-<status>`). Each page is one call, reserved from the account's budget.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from docusign_api import DocuSignError, DocuSignRateLimited, DocuSignUnavailable
from events.models import ConnectEvent
from recovery.models import DeliveryFailure, TenantRecovery
from recovery.services.access import account_access, docusign_problem
from recovery.services.failures import recovery_row
from recovery.services.republish import tenant_gaps_queue
from tenants.models import Tenant
from tenants.services.tokens import TokenTemporarilyUnavailable, TokenUnavailable

GAP_ERROR = "DocuSign reports this status change; no Connect event for it reached the portal."
TRANSIENT = (DocuSignUnavailable, DocuSignRateLimited, TokenTemporarilyUnavailable)
Source = DeliveryFailure.Source


def tenant_completeness_check(*, tenant_id: int) -> float | None:
    """Run the check for one tenant; returns the percentage (None when it could not run).
    Budget exhaustion and transient errors propagate for the task to retry after the window."""
    tenant = Tenant.objects.select_related("integration").get(pk=tenant_id)
    recovery_row(tenant_id)
    now = timezone.now()
    days = settings.RECOVERY_COMPLETENESS_DAYS
    start = now - timedelta(days=days)
    # Events of the last few minutes may still be on their way.
    end = now - timedelta(seconds=settings.RECOVERY_COMPLETENESS_GRACE_S)
    statuses = {s.lower() for s in settings.RECOVERY_COMPLETENESS_STATUSES}
    expected: dict[tuple[str, str], datetime | None] = {}
    try:
        access = account_access(tenant=tenant)
        api = access.envelopes()
        start_position = 0
        while True:
            access.reserve()
            page = api.status_changes_page(
                from_date=start, to_date=end, start_position=start_position
            )
            for change in page.envelopes:
                if change.envelope_id and change.status in statuses:
                    expected[(change.envelope_id, change.status)] = change.status_changed_at
            if not page.next_uri or not page.envelopes:
                break
            start_position = page.start_position + len(page.envelopes)
    except TRANSIENT:
        raise
    except TokenUnavailable as exc:
        _record_error(tenant_id, f"No usable token ({exc.code}): {exc}")
        return None
    except DocuSignError as exc:
        _record_error(tenant_id, docusign_problem(exc))
        return None
    received = _received(tenant_id, expected)
    gaps = {key: at for key, at in expected.items() if key not in received}
    percent = 100.0 if not expected else 100.0 * len(received) / len(expected)
    _store(tenant, days, expected, received, gaps, percent, now)
    if gaps and settings.RECOVERY_AUTO_REPUBLISH and tenant_gaps_queue(tenant_id=tenant_id):
        from recovery.tasks import tenant_republish_queued

        transaction.on_commit(lambda: tenant_republish_queued.delay(tenant_id))
    return percent


def _record_error(tenant_id: int, error: str) -> None:
    TenantRecovery.objects.filter(tenant_id=tenant_id).update(
        completeness_checked_at=timezone.now(), completeness_error=error[:300]
    )


def _received(
    tenant_id: int, expected: dict[tuple[str, str], datetime | None]
) -> set[tuple[str, str]]:
    envelope_ids = sorted({envelope_id for envelope_id, _ in expected})
    events = {f"envelope-{status}" for _, status in expected}
    found: set[tuple[str, str]] = set()
    for chunk_start in range(0, len(envelope_ids), 1000):
        chunk = envelope_ids[chunk_start : chunk_start + 1000]
        rows = ConnectEvent.objects.filter(
            tenant_id=tenant_id, envelope_id__in=chunk, event__in=events
        ).values_list("envelope_id", "event")
        found |= {(envelope_id, event.removeprefix("envelope-")) for envelope_id, event in rows}
    return found & set(expected)


@transaction.atomic
def _store(
    tenant: Tenant,
    days: int,
    expected: dict[tuple[str, str], datetime | None],
    received: set[tuple[str, str]],
    gaps: dict[tuple[str, str], datetime | None],
    percent: float,
    now: datetime,
) -> None:
    DeliveryFailure.objects.bulk_create(
        [
            DeliveryFailure(
                tenant=tenant,
                source=Source.COMPLETENESS,
                source_id=f"{envelope_id}:{status}",
                envelope_id=envelope_id,
                envelope_status=status,
                error=GAP_ERROR,
                docusign_created_at=at,
                first_seen_at=now,
                last_seen_at=now,
            )
            for (envelope_id, status), at in gaps.items()
        ],
        ignore_conflicts=True,
    )
    TenantRecovery.objects.filter(tenant_id=tenant.pk).update(
        completeness_checked_at=now,
        completeness_days=days,
        completeness_expected=len(expected),
        completeness_received=len(received),
        completeness_percent=round(percent, 2),
        completeness_error="",
    )


def tenants_due_for_completeness() -> list[int]:
    cutoff = timezone.now() - timedelta(seconds=settings.RECOVERY_COMPLETENESS_INTERVAL_S)
    return list(
        Tenant.objects.filter(
            archived_at__isnull=True,
            account__isnull=False,
            status__in=[Tenant.Status.CONSENTED, Tenant.Status.ACTIVE],
        )
        .exclude(recovery__completeness_checked_at__gte=cutoff)
        .values_list("pk", flat=True)
    )
