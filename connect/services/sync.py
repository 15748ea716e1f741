"""How syncs end: the history row, each tenant's current Connect state, the daily rollup, and the
marks that say a sync is on its way.

The reconcile itself is `connect.services.reconcile`; offboarding is `connect.services.offboard`.
"""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from common.leases import lease_seconds, lease_until
from common.metrics import CONNECT_SYNCS
from common.services import audit_record
from connect.budget import BudgetUnavailable
from connect.models import SyncDailyStat, SyncRecord, TenantConnectState
from connect.plan import Step
from docusign_api import DocuSignError, DocuSignRateLimited, DocuSignUnavailable, RateLimitStatus
from tenants.models import Tenant
from tenants.services.status import tenant_status_set
from tenants.services.tokens import TokenTemporarilyUnavailable

logger = logging.getLogger(__name__)

ACTOR = "connect-sync"
# Worth retrying later: the task layer retries these with backoff (or after the budget resets).
TRANSIENT_ERRORS = (
    DocuSignUnavailable,
    DocuSignRateLimited,
    TokenTemporarilyUnavailable,
    BudgetUnavailable,
)
Outcome = SyncRecord.Outcome
State = TenantConnectState.Status


@dataclass(frozen=True)
class SyncResult:
    tenant_id: int
    outcome: str  # SyncRecord.Outcome
    status: str  # TenantConnectState.Status
    api_calls: int
    changes: list[dict] = field(default_factory=list)
    message: str = ""
    record_id: int | None = None


def docusign_message(exc: DocuSignError) -> str:
    """DocuSign's own words, for staff (the client already scrubbed any secret from them)."""
    code = f"{exc.error_code}: " if exc.error_code else ""
    return f"DocuSign refused ({exc.status}): {code}{exc.message}"[:500]


def connect_sync_finish(
    *,
    tenant: Tenant,
    trigger: str,
    started_at: datetime,
    outcome: str,
    message: str = "",
    api_calls: int = 0,
    found: list[dict] | None = None,
    changes: list[dict] | None = None,
    steps: list[Step] | None = None,
    desired: list | None = None,
    rate_limit: RateLimitStatus | None = None,
) -> SyncResult:
    """Write how a sync ended, in one transaction: the history row, the tenant's current state and
    the day's count; a first success makes a consented tenant active."""
    status: str
    with transaction.atomic():
        record = SyncRecord.objects.create(
            tenant=tenant,
            started_at=started_at,
            trigger=trigger,
            outcome=outcome,
            found=found or [],
            changes=changes or [],
            api_calls=api_calls,
            message=message,
        )
        if outcome == Outcome.IN_SYNC and _in_sync_state_store(
            tenant_id=tenant.pk,
            record=record,
            rate_limit=rate_limit,
            steps=steps or [],
            desired=desired or [],
        ):
            status = State.IN_SYNC
        else:
            status = _state_store(
                tenant=tenant,
                record=record,
                outcome=outcome,
                message=message,
                changes=changes or [],
                steps=steps,
                desired=desired or [],
                rate_limit=rate_limit,
            )
        # Last before the commit: the rollup row stays locked only from here to the commit.
        _daily_stat_bump(outcome=outcome, day=record.finished_at.date())
    CONNECT_SYNCS.labels(outcome).inc()
    first_success = (
        outcome in (Outcome.IN_SYNC, Outcome.CHANGED)
        and trigger != SyncRecord.Trigger.OFFBOARD
        and tenant.status == Tenant.Status.CONSENTED
    )
    if first_success:
        tenant_status_set(
            tenant=tenant,
            to_status=Tenant.Status.ACTIVE,
            reason="The Connect configuration is in place.",
            actor_label=ACTOR,
        )
    if outcome == Outcome.FAILED:
        logger.info("Connect sync of tenant %s failed: %s", tenant.pk, message)
    return SyncResult(
        tenant_id=tenant.pk,
        outcome=outcome,
        status=status,
        api_calls=api_calls,
        changes=changes or [],
        message=message,
        record_id=record.pk,
    )


def _in_sync_state_store(
    *,
    tenant_id: int,
    record: SyncRecord,
    rate_limit: RateLimitStatus | None,
    steps: list[Step],
    desired: list,
) -> bool:
    """The common ending, everything already in place: one UPDATE. Nothing of the previous state
    is needed (every template keeps its configuration and its version), so the row is not read
    or locked first. False when the tenant has no state row yet."""
    values = _state_values(
        outcome=Outcome.IN_SYNC,
        status=State.IN_SYNC,
        record=record,
        message="",
        rate_limit=rate_limit,
    )
    values["connect_ids"], values["versions"] = _carried(
        steps, {d.slug: d.version for d in desired}, [], {}
    )
    return TenantConnectState.objects.filter(tenant_id=tenant_id).update(**values) == 1


def _state_store(
    *,
    tenant: Tenant,
    record: SyncRecord,
    outcome: str,
    message: str,
    changes: list[dict],
    steps: list[Step] | None,
    desired: list,
    rate_limit: RateLimitStatus | None,
) -> str:
    """Every other ending: the new state depends on the previous one (a first push or a repair,
    what a reported template carried before, the failure count), so the row is locked and read."""
    state, _ = TenantConnectState.objects.select_for_update().get_or_create(tenant=tenant)
    status = _status(outcome, state=state, changes=changes)
    values = _state_values(
        outcome=outcome, status=status, record=record, message=message, rate_limit=rate_limit
    )
    for name, value in values.items():
        setattr(state, name, value)
    if outcome == Outcome.FAILED:
        state.consecutive_failures += 1
    if steps is not None:
        state.connect_ids, state.versions = _carried(
            steps, {d.slug: d.version for d in desired}, changes, dict(state.versions)
        )
    state.save(update_fields=_STATE_FIELDS)
    return status


def _state_values(
    *,
    outcome: str,
    status: str,
    record: SyncRecord,
    message: str,
    rate_limit: RateLimitStatus | None,
) -> dict:
    """The state fields every ending sets the same way. A failure adds one to the failure count
    (the caller, which has the row); a skip leaves it; any other ending resets it."""
    values = {
        "status": status,
        "last_sync_at": record.finished_at,
        "last_outcome": outcome,
        "last_error": message if outcome == Outcome.FAILED else "",
        "queued_at": None,
        "lease_expires_at": None,
    }
    if outcome not in (Outcome.FAILED, Outcome.SKIPPED):
        values["consecutive_failures"] = 0
    if rate_limit is not None and rate_limit.remaining is not None:
        values.update(
            rate_limit_limit=rate_limit.limit,
            rate_limit_remaining=rate_limit.remaining,
            rate_limit_reset_at=rate_limit.reset_at,
        )
    return values


def _status(outcome: str, *, state: TenantConnectState, changes: list[dict]) -> str:
    if outcome == Outcome.FAILED:
        return State.FAILING
    if outcome == Outcome.SKIPPED:
        return State.SKIPPED
    if outcome == Outcome.DRIFT:
        return State.DRIFT
    if outcome == Outcome.CHANGED:
        # A first push of a template is not a repair; changing what was there already is.
        first_push = all(
            c["action"] == "create" and c["template"] not in state.connect_ids for c in changes
        )
        return State.IN_SYNC if first_push else State.REPAIRED
    return State.IN_SYNC


NOT_CARRIED_ACTIONS = ("delete_duplicate", "delete_orphan")


def _carried(
    steps: list[Step], versions: dict, changes: list[dict], previous_versions: dict
) -> tuple[dict[str, str], dict[str, Any]]:
    """Which connectId and template version each template has on the account now. `versions`
    are the desired versions by template slug."""
    # A deleted duplicate carries the template's slug too: its connectId is gone, never carried.
    applied = {
        c["template"]: c
        for c in changes
        if c["applied"] and c["template"] and c["action"] not in NOT_CARRIED_ACTIONS
    }
    connect_ids: dict[str, str] = {}
    carried_versions: dict[str, Any] = {}
    for step in steps:
        if not step.slug or step.action in ("delete_duplicate", "render_error"):
            continue
        change = applied.get(step.slug)
        if step.action == "keep" or change is not None:
            connect_ids[step.slug] = (change or {}).get("connect_id") or step.connect_id or ""
            carried_versions[step.slug] = versions.get(step.slug)
        elif step.connect_id:  # reported, not repaired: it carries whatever it carried before
            connect_ids[step.slug] = step.connect_id
            if step.slug in previous_versions:
                carried_versions[step.slug] = previous_versions[step.slug]
    return connect_ids, carried_versions


_STATE_FIELDS = [
    "status",
    "last_sync_at",
    "last_outcome",
    "last_error",
    "queued_at",
    "lease_expires_at",
    "consecutive_failures",
    "connect_ids",
    "versions",
    "rate_limit_limit",
    "rate_limit_remaining",
    "rate_limit_reset_at",
]


def _daily_stat_bump(*, outcome: str, day: date) -> None:
    """Add one to the day's count for `outcome` in one statement. The ORM has no "insert, or add
    one on conflict", and an update-then-create would need a savepoint and a retry when a sibling
    creates the row first; PostgreSQL and SQLite both speak INSERT ... ON CONFLICT DO UPDATE."""
    table, date, outcome_, count = (
        connection.ops.quote_name(name)
        for name in (SyncDailyStat._meta.db_table, "date", "outcome", "count")
    )
    sql = (
        f"INSERT INTO {table} ({date}, {outcome_}, {count}) VALUES (%s, %s, 1) "  # noqa: S608 - names are ours
        f"ON CONFLICT ({date}, {outcome_}) DO UPDATE SET {count} = {table}.{count} + 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [day, outcome])


def connect_sync_failure_record(*, tenant_id: int, trigger: str, message: str) -> SyncResult:
    """A sync that ran out of retries on transient errors: recorded as a failure."""
    tenant = Tenant.objects.get(pk=tenant_id)
    return connect_sync_finish(
        tenant=tenant,
        trigger=trigger,
        started_at=timezone.now(),
        outcome=Outcome.FAILED,
        message=message[:500],
    )


@transaction.atomic
def connect_sync_queued_mark(*, tenant_ids: list[int]) -> None:
    """Note that a sync task is on its way, with its lease: the next beat does not enqueue it
    again unless the lease runs out first (then the sync counts as lost)."""
    now = timezone.now()
    existing = set(
        TenantConnectState.objects.filter(tenant_id__in=tenant_ids).values_list(
            "tenant_id", flat=True
        )
    )
    TenantConnectState.objects.bulk_create(
        [TenantConnectState(tenant_id=tid) for tid in tenant_ids if tid not in existing],
        ignore_conflicts=True,
    )
    TenantConnectState.objects.filter(tenant_id__in=tenant_ids).update(
        queued_at=now, lease_expires_at=lease_until()
    )


def connect_sync_lease_renew(*, tenant_id: int, after_s: float = 0) -> None:
    """The tenant's sync starts now (or retries in `after_s`): its lease runs from then."""
    TenantConnectState.objects.filter(tenant_id=tenant_id).update(
        lease_expires_at=lease_until(after_s=after_s)
    )


def connect_sync_request(
    *, tenant: Tenant, actor: User | None, request: HttpRequest | None = None
) -> None:
    """ "Sync now" from the tenant page: enqueue after commit, audited."""
    from connect.tasks import connect_tenant_sync

    audit_record(action="connect.sync.request", actor=actor, target=tenant, request=request)
    connect_sync_queued_mark(tenant_ids=[tenant.pk])
    transaction.on_commit(
        lambda: connect_tenant_sync.apply_async(
            (tenant.pk,), {"trigger": SyncRecord.Trigger.MANUAL}, expires=lease_seconds()
        )
    )
