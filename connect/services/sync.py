"""Push and sync: one idempotent reconcile per tenant, and offboarding.

A reconcile lists the account's configurations (one GET), plans with `connect.plan`, then makes
only the writes the plan needs. DocuSign has no idempotency keys, so the list comes first every
time: a worker killed between DocuSign's reply and our commit leaves a configuration the next run
finds by its stable name, never a duplicate. DocuSign calls happen outside any transaction; the
outcome is written afterwards in one.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from common import rawload
from common.services import audit_record
from connect.budget import BudgetExhausted, budget_reserve
from connect.models import SyncDailyStat, SyncRecord, TenantConnectState
from connect.plan import Step, calls_needed, plan_reconcile
from connect.selectors import connect_desired_for_tenant
from connect.services.templates import CONFIG_NAME_PREFIX
from docusign_api import (
    ConnectConfiguration,
    DocuSignError,
    DocuSignRateLimited,
    DocuSignUnavailable,
    RateLimitStatus,
)
from tenants.docusign import docusign_client_for
from tenants.models import Integration, Tenant, TenantAccount, TenantToken
from tenants.services.status import tenant_status_set
from tenants.services.tokens import (
    TokenReconsentRequired,
    TokenTemporarilyUnavailable,
    TokenUnavailable,
    token_get_valid,
)

logger = logging.getLogger(__name__)

ACTOR = "connect-sync"
# Worth retrying later: the task layer retries these with backoff (or after the budget resets).
TRANSIENT_ERRORS = (DocuSignUnavailable, DocuSignRateLimited, TokenTemporarilyUnavailable)
SYNCABLE_STATUSES = (Tenant.Status.CONSENTED, Tenant.Status.ACTIVE, Tenant.Status.ERROR)
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


# What a reconcile reads of the tenant, its integration, account and token (attribute names). A
# field left out still loads when touched, one query later: test_sync_queries.py pins the count.
_TENANT_FIELDS = ("id", "name", "slug", "integration_id", "grant_mode", "status", "archived_at")
_INTEGRATION_FIELDS = ("id", "environment", "auth_base_url")
_ACCOUNT_FIELDS = ("id", "tenant_id", "account_id", "base_uri")
_TOKEN_FIELDS = ("tenant_id", "access_token", "access_expires_at")


def _tenant_for_reconcile(tenant_id: int) -> Tenant:
    """The tenant with its integration, account and token (either may be missing), in one
    hand-written statement (common/rawload.py says why); Tenant.DoesNotExist if there is none."""
    sql = (
        f"SELECT {rawload.columns('t', Tenant, _TENANT_FIELDS)}, "  # noqa: S608 - names are ours
        f"{rawload.columns('i', Integration, _INTEGRATION_FIELDS)}, "
        f"{rawload.columns('a', TenantAccount, _ACCOUNT_FIELDS)}, "
        f"{rawload.columns('k', TenantToken, _TOKEN_FIELDS)} "
        f"FROM {rawload.table(Tenant)} t "
        f"JOIN {rawload.table(Integration)} i ON i.id = t.integration_id "
        f"LEFT JOIN {rawload.table(TenantAccount)} a ON a.tenant_id = t.id "
        f"LEFT JOIN {rawload.table(TenantToken)} k ON k.tenant_id = t.id "
        "WHERE t.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant_id])
        row = cursor.fetchone()
    if row is None:
        raise Tenant.DoesNotExist(f"Tenant {tenant_id} does not exist.")
    integration_at = len(_TENANT_FIELDS)
    account_at = integration_at + len(_INTEGRATION_FIELDS)
    token_at = account_at + len(_ACCOUNT_FIELDS)
    tenant = rawload.instance(Tenant, _TENANT_FIELDS, row[:integration_at])
    tenant.integration = rawload.instance(
        Integration, _INTEGRATION_FIELDS, row[integration_at:account_at]
    )
    # No account or token row: the LEFT JOIN gives NULLs and nothing is attached; reading
    # tenant.account then asks the database and raises DoesNotExist, as usual.
    if row[account_at] is not None:
        tenant.account = rawload.instance(TenantAccount, _ACCOUNT_FIELDS, row[account_at:token_at])
    if row[token_at] is not None:
        tenant.token = rawload.instance(TenantToken, _TOKEN_FIELDS, row[token_at:])
    return tenant


def connect_tenant_reconcile(*, tenant_id: int, trigger: str) -> SyncResult:
    """Make the tenant's account carry exactly the portal's desired configurations.

    Raises `BudgetExhausted` (nothing was called) and the transient errors in `TRANSIENT_ERRORS`
    for the caller to retry; every other ending is recorded and returned.
    """
    started_at = timezone.now()
    # Everything this reconcile reads about the tenant, in one query (the token row included, so
    # the token service need not read it again), and only that: Django's SQL compiler spends its
    # time per column, and all four tables' columns cost more CPU than the rest of the reconcile
    # together. A refresh re-reads the token row, secrets included, under its lock anyway.
    tenant = _tenant_for_reconcile(tenant_id)
    skip_reason = _skip_reason(tenant)
    if skip_reason:
        return _finish(
            tenant=tenant,
            trigger=trigger,
            started_at=started_at,
            outcome=Outcome.SKIPPED,
            message=skip_reason,
        )
    try:
        token = token_get_valid(
            tenant_id=tenant.pk, actor_label=ACTOR, loaded=getattr(tenant, "token", None)
        )
    except TokenReconsentRequired:
        return _finish(
            tenant=tenant,
            trigger=trigger,
            started_at=started_at,
            outcome=Outcome.SKIPPED,
            message="Skipped: the client admin must consent again.",
        )
    except TokenTemporarilyUnavailable:
        raise
    except TokenUnavailable as exc:
        return _finish(
            tenant=tenant,
            trigger=trigger,
            started_at=started_at,
            outcome=Outcome.SKIPPED,
            message=f"Skipped: {exc}",
        )

    client = docusign_client_for(tenant.integration)
    budget_reserve(account_id=token.account_id, calls=1)
    api = client.connect(
        base_uri=token.base_uri, account_id=token.account_id, access_token=token.token
    )
    desired = connect_desired_for_tenant(tenant=tenant, account_id=token.account_id)
    calls = 0
    try:
        actual = api.list()
        calls += 1
    except TRANSIENT_ERRORS:
        raise
    except DocuSignError as exc:
        return _finish(
            tenant=tenant,
            trigger=trigger,
            started_at=started_at,
            api_calls=1,
            outcome=Outcome.FAILED,
            message=_docusign_message(exc),
        )

    force = trigger == SyncRecord.Trigger.BULK_PUSH
    steps = plan_reconcile(desired, actual, force_repair=force)
    writes = calls_needed(steps)
    if writes:
        _stop_if_docusign_says_spent(client, token.account_id, calls=writes)
        budget_reserve(account_id=token.account_id, calls=writes)
    changes, errors, calls = _execute(api, steps, calls=calls)
    return _finish(
        tenant=tenant,
        trigger=trigger,
        started_at=started_at,
        rate_limit=client.rate_limits(token.account_id),
        api_calls=calls,
        outcome=_outcome(steps, errors),
        message=" ".join(errors)[:500],
        found=[_found(a) for a in actual],
        changes=changes,
        steps=steps,
        desired=desired,
    )


def _skip_reason(tenant: Tenant) -> str:
    if tenant.is_archived:
        return "Skipped: the tenant is archived."
    if tenant.status == Tenant.Status.NEEDS_RECONSENT:
        return "Skipped: the client admin must consent again."
    if tenant.status not in SYNCABLE_STATUSES:
        return f"Skipped: the tenant is {tenant.get_status_display().lower()}."
    return ""


def _stop_if_docusign_says_spent(client, account_id: str, *, calls: int) -> None:
    """DocuSign's own count (X-RateLimit-Remaining, X-BurstLimit-Remaining) covers the client's
    other apps too: when the list's response says fewer calls are left than the writes need,
    stop before writing. Only this fresh reading is trusted; our own budget guards the list."""
    status = client.rate_limits(account_id)
    if status is None:
        return
    now = timezone.now()
    hourly_spent = status.remaining is not None and status.remaining < calls
    if hourly_spent and (status.reset_at is None or status.reset_at > now):
        wait = (status.reset_at - now).total_seconds() if status.reset_at else 60.0
        raise BudgetExhausted("DocuSign reports the hourly budget spent.", retry_after=wait)
    burst_age = (now - status.seen_at).total_seconds()
    if status.burst_remaining is not None and status.burst_remaining < calls and burst_age < 30:
        raise BudgetExhausted(
            "DocuSign reports the burst budget spent.", retry_after=30 - burst_age
        )


def _execute(api, steps: list[Step], *, calls: int) -> tuple[list[dict], list[str], int]:
    """Run the writes in plan order; one template's rejection does not stop the others."""
    changes: list[dict] = []
    errors: list[str] = []
    for step in steps:
        if step.action == "keep":
            continue
        change = {
            "template": step.slug,
            "name": step.name,
            "action": step.action,
            "connect_id": step.connect_id or "",
            "fields": step.fields,
            "applied": False,
            "error": step.error,
        }
        changes.append(change)
        if step.action == "render_error":
            errors.append(f"{step.name}: {step.error}")
            continue
        if step.report_only:
            continue
        try:
            if step.action == "create":
                calls += 1
                created = api.create(step.config)
                change["connect_id"] = created.connect_id or ""
            elif step.action == "update":
                calls += 1
                api.update(step.config)
            elif step.action == "reenable":
                calls += 1
                created = api.create(step.config)
                calls += 1
                api.delete(step.connect_id)
                change["connect_id"] = created.connect_id or ""
            else:  # delete_duplicate, delete_orphan
                calls += 1
                api.delete(step.connect_id)
            change["applied"] = True
        except TRANSIENT_ERRORS:
            raise
        except DocuSignError as exc:
            change["error"] = _docusign_message(exc)
            errors.append(f"{step.name}: {change['error']}")
    return changes, errors, calls


def _docusign_message(exc: DocuSignError) -> str:
    """DocuSign's own words, for staff (the client already scrubbed any secret from them)."""
    code = f"{exc.error_code}: " if exc.error_code else ""
    return f"DocuSign refused ({exc.status}): {code}{exc.message}"[:500]


def _outcome(steps: list[Step], errors: list[str]) -> str:
    if errors:
        return Outcome.FAILED
    if any(s.action != "keep" and not s.report_only for s in steps):
        return Outcome.CHANGED
    if any(s.action != "keep" for s in steps):
        return Outcome.DRIFT
    return Outcome.IN_SYNC


def _found(config: ConnectConfiguration) -> dict:
    return {
        "connect_id": config.connect_id or "",
        "name": config.name,
        "ours": config.name.startswith(CONFIG_NAME_PREFIX),
        "disabled": bool(config.disabled_by) or config.pause_publish,
    }


def _finish(
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
        _daily_stat_bump(outcome=outcome, day=record.finished_at.date(), tenant_id=tenant.pk)
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


def _carried(steps, versions: dict, changes, previous_versions: dict):
    """Which connectId and template version each template has on the account now. `versions`
    are the desired versions by template slug."""
    # A deleted duplicate carries the template's slug too: its connectId is gone, never carried.
    applied = {
        c["template"]: c
        for c in changes
        if c["applied"] and c["template"] and c["action"] not in NOT_CARRIED_ACTIONS
    }
    connect_ids, carried_versions = {}, {}
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
    "consecutive_failures",
    "connect_ids",
    "versions",
    "rate_limit_limit",
    "rate_limit_remaining",
    "rate_limit_reset_at",
]


def _daily_stat_bump(*, outcome: str, day, tenant_id: int) -> None:
    """Add one to the day's count for `outcome`, in the tenant's shard: one statement (an upsert,
    so no savepoint and no retry when a sibling creates the row first). PostgreSQL and SQLite
    both speak INSERT ... ON CONFLICT DO UPDATE."""
    table, date, outcome_, shard, count = (
        connection.ops.quote_name(name)
        for name in (SyncDailyStat._meta.db_table, "date", "outcome", "shard", "count")
    )
    sql = (
        f"INSERT INTO {table} ({date}, {outcome_}, {shard}, {count}) VALUES (%s, %s, %s, 1) "  # noqa: S608 - names are ours
        f"ON CONFLICT ({date}, {outcome_}, {shard}) "
        f"DO UPDATE SET {count} = {table}.{count} + 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [day, outcome, tenant_id % SyncDailyStat.SHARDS])


def connect_sync_failure_record(*, tenant_id: int, trigger: str, message: str) -> SyncResult:
    """A sync that ran out of retries on transient errors: recorded as a failure."""
    tenant = Tenant.objects.get(pk=tenant_id)
    return _finish(
        tenant=tenant,
        trigger=trigger,
        started_at=timezone.now(),
        outcome=Outcome.FAILED,
        message=message[:500],
    )


@transaction.atomic
def connect_sync_queued_mark(*, tenant_ids: list[int]) -> None:
    """Note that a sync task is on its way, so the next beat does not enqueue it again."""
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
    TenantConnectState.objects.filter(tenant_id__in=tenant_ids).update(queued_at=now)


def connect_sync_request(*, tenant: Tenant, actor, request=None) -> None:
    """ "Sync now" from the tenant page: enqueue after commit, audited."""
    from connect.tasks import connect_tenant_sync

    audit_record(action="connect.sync.request", actor=actor, target=tenant, request=request)
    connect_sync_queued_mark(tenant_ids=[tenant.pk])
    transaction.on_commit(
        lambda: connect_tenant_sync.delay(tenant.pk, trigger=SyncRecord.Trigger.MANUAL)
    )


def connect_offboard(*, tenant_id: int) -> int:
    """Delete every configuration the portal owns from the tenant's account; returns how many.

    A tenant whose token is dead cannot be cleaned up by us; that is recorded and not raised, so
    the rest of offboarding goes on.
    """
    started_at = timezone.now()
    tenant = Tenant.objects.select_related("integration").get(pk=tenant_id)
    try:
        token = token_get_valid(tenant_id=tenant.pk, actor_label=ACTOR)
    except TokenTemporarilyUnavailable:
        raise
    except TokenUnavailable as exc:
        _finish(
            tenant=tenant,
            trigger=SyncRecord.Trigger.OFFBOARD,
            started_at=started_at,
            outcome=Outcome.SKIPPED,
            message=f"Could not remove the Connect configurations: {exc}",
        )
        return 0
    api = docusign_client_for(tenant.integration).connect(
        base_uri=token.base_uri, account_id=token.account_id, access_token=token.token
    )
    ours = [c for c in api.list() if c.name.startswith(CONFIG_NAME_PREFIX)]
    changes = []
    for config in ours:
        api.delete(config.connect_id)
        changes.append(
            {
                "template": "",
                "name": config.name,
                "action": "delete_orphan",
                "connect_id": config.connect_id,
                "fields": [],
                "applied": True,
                "error": "",
            }
        )
    _finish(
        tenant=tenant,
        trigger=SyncRecord.Trigger.OFFBOARD,
        started_at=started_at,
        outcome=Outcome.CHANGED if ours else Outcome.IN_SYNC,
        api_calls=1 + len(ours),
        message=f"Removed {len(ours)} Connect configuration(s).",
        changes=changes,
    )
    TenantConnectState.objects.filter(tenant=tenant).update(connect_ids={}, versions={})
    audit_record(
        action="connect.offboard",
        actor_label=ACTOR,
        target=tenant,
        message=f"Removed {len(ours)} Connect configuration(s).",
    )
    return len(ours)


def connect_offboard_step(tenant_id: int) -> None:
    """`tenants.services.tenants.OFFBOARD_STEPS` calls each step with the tenant id."""
    connect_offboard(tenant_id=tenant_id)
