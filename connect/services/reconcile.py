"""The reconcile: one idempotent pass that makes a tenant's account carry exactly the portal's
desired Connect configurations.

It lists the account's configurations (one GET), plans with `connect.plan`, then makes only the
writes the plan needs. DocuSign has no idempotency keys, so the list comes first every time: a
worker killed between DocuSign's reply and our commit leaves a configuration the next run finds by
its stable name, never a duplicate; and one tenant is reconciled by one process at a time (a
second one, say a sync re-enqueued after the broker lost its queue, waits for the first).
DocuSign calls happen outside any transaction; the outcome is written afterwards in one
(`connect.services.sync`).
"""

import logging
from typing import cast

from django.utils import timezone

from common.locks import run_lock
from connect.budget import BudgetExhausted, budget_reserve
from connect.models import SyncRecord
from connect.plan import Step, calls_needed, plan_reconcile
from connect.selectors.desired import connect_desired_for_tenant
from connect.selectors.fleet import SYNCABLE_STATUSES
from connect.services.sync import (
    ACTOR,
    TRANSIENT_ERRORS,
    Outcome,
    SyncResult,
    connect_sync_finish,
    docusign_message,
)
from connect.services.templates import CONFIG_NAME_PREFIX
from docusign_api import ConnectConfiguration, DocuSignError
from docusign_api.client import DocuSignClient
from docusign_api.connect import ConnectAPI
from tenants.docusign import docusign_client_for
from tenants.models import Tenant
from tenants.services.tokens import (
    TokenReconsentRequired,
    TokenTemporarilyUnavailable,
    TokenUnavailable,
    token_get_valid,
)

logger = logging.getLogger(__name__)


class SyncRunningElsewhere(Exception):
    """Another process is reconciling this tenant right now: try again after it, not beside it
    (two reconciles listing at once would both create a missing configuration)."""

    retry_after = 15

    def __str__(self) -> str:
        return "Another sync of this tenant is running; trying again after it."


def connect_tenant_reconcile(*, tenant_id: int, trigger: str) -> SyncResult:
    """Make the tenant's account carry exactly the portal's desired configurations, one
    reconcile of a tenant at a time across every process.

    Raises `BudgetExhausted` (nothing was called), `SyncRunningElsewhere` and the transient
    errors in `TRANSIENT_ERRORS` for the caller to retry; every other ending is recorded and
    returned.
    """
    with run_lock(f"connect-reconcile:{tenant_id}") as held:
        if not held:
            raise SyncRunningElsewhere
        return _reconcile(tenant_id=tenant_id, trigger=trigger)


def _reconcile(*, tenant_id: int, trigger: str) -> SyncResult:
    started_at = timezone.now()
    # The token read is the tenant read: it comes with the tenant and its integration.
    try:
        token = token_get_valid(tenant_id=tenant_id, actor_label=ACTOR)
    except TokenTemporarilyUnavailable:
        raise
    except TokenUnavailable as exc:
        tenant = Tenant.objects.get(pk=tenant_id)
        return connect_sync_finish(
            tenant=tenant,
            trigger=trigger,
            started_at=started_at,
            outcome=Outcome.SKIPPED,
            message=_skip_reason(tenant, exc),
        )
    tenant = token.tenant
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
        return connect_sync_finish(
            tenant=tenant,
            trigger=trigger,
            started_at=started_at,
            api_calls=1,
            outcome=Outcome.FAILED,
            message=docusign_message(exc),
        )

    force = trigger == SyncRecord.Trigger.BULK_PUSH
    steps = plan_reconcile(desired, actual, force_repair=force)
    writes = calls_needed(steps)
    if writes:
        _stop_if_docusign_says_spent(client, token.account_id, calls=writes)
        budget_reserve(account_id=token.account_id, calls=writes)
    changes, errors, calls = _execute(api, steps, calls=calls)
    return connect_sync_finish(
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


def _skip_reason(tenant: Tenant, exc: TokenUnavailable) -> str:
    if tenant.is_archived:
        return "Skipped: the tenant is archived."
    if isinstance(exc, TokenReconsentRequired) or tenant.status == Tenant.Status.NEEDS_RECONSENT:
        return "Skipped: the client admin must consent again."
    if tenant.status not in SYNCABLE_STATUSES:
        return f"Skipped: the tenant is {tenant.get_status_display().lower()}."
    return f"Skipped: {exc}"


def _stop_if_docusign_says_spent(client: DocuSignClient, account_id: str, *, calls: int) -> None:
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


def _execute(
    api: ConnectAPI, steps: list[Step], *, calls: int
) -> tuple[list[dict], list[str], int]:
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
        # The plan gives create/update/reenable a `config`, and reenable/delete a `connect_id`.
        config = cast(ConnectConfiguration, step.config)
        connect_id = cast(str, step.connect_id)
        try:
            if step.action == "create":
                calls += 1
                created = api.create(config)
                change["connect_id"] = created.connect_id or ""
            elif step.action == "update":
                calls += 1
                api.update(config)
            elif step.action == "reenable":
                calls += 1
                created = api.create(config)
                calls += 1
                api.delete(connect_id)
                change["connect_id"] = created.connect_id or ""
            else:  # delete_duplicate, delete_orphan
                calls += 1
                api.delete(connect_id)
            change["applied"] = True
        except TRANSIENT_ERRORS:
            raise
        except DocuSignError as exc:
            change["error"] = docusign_message(exc)
            errors.append(f"{step.name}: {change['error']}")
    return changes, errors, calls


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
