"""The tenant page's Connect panel: state, desired vs actual, the last syncs."""

from django.urls import reverse

from connect.models import SyncRecord, TenantConnectState
from connect.selectors.desired import (
    connect_event_notifications_for_tenant,
    connect_templates_for_tenant,
)
from connect.selectors.fleet import SYNCABLE_STATUSES
from connect.services.templates import config_name
from tenants.models import Tenant, TenantAccount

STATUS_BADGES: dict[str, str] = {
    TenantConnectState.Status.IN_SYNC: "ok",
    TenantConnectState.Status.REPAIRED: "ok",
    TenantConnectState.Status.DRIFT: "warn",
    TenantConnectState.Status.FAILING: "bad",
    TenantConnectState.Status.SKIPPED: "idle",
    TenantConnectState.Status.NEVER: "idle",
}
OUTCOME_BADGES: dict[str, str] = {
    SyncRecord.Outcome.IN_SYNC: "ok",
    SyncRecord.Outcome.CHANGED: "info",
    SyncRecord.Outcome.DRIFT: "warn",
    SyncRecord.Outcome.FAILED: "bad",
    SyncRecord.Outcome.SKIPPED: "idle",
}
ACTION_LABELS = {
    "create": "Create",
    "update": "Update to the desired state",
    "reenable": "Replace (DocuSign disabled it)",
    "delete_duplicate": "Delete duplicate",
    "delete_orphan": "Delete (no template wants it)",
    "render_error": "Cannot render",
}


def connect_tenant_panel(*, tenant: Tenant, with_event_notifications: bool = False) -> dict:
    """The tenant page's Connect panel: state, desired vs actual, the last syncs, and (for the
    staff page, two queries more) the envelope-level eventNotification blocks."""
    state = TenantConnectState.objects.filter(tenant=tenant).first()
    records = list(SyncRecord.objects.filter(tenant=tenant).order_by("-finished_at", "-id")[:5])
    last = records[0] if records else None
    templates = connect_templates_for_tenant(tenant=tenant)
    carried = state.versions if state else {}
    connect_ids = state.connect_ids if state else {}
    differences = []
    if last is not None:
        for change in last.changes:
            differences.append(
                {
                    "name": change.get("name", ""),
                    "action": ACTION_LABELS.get(change.get("action"), change.get("action", "")),
                    "applied": change.get("applied", False),
                    "fields": change.get("fields", []),
                    "error": change.get("error", ""),
                }
            )
    status = state.status if state else TenantConnectState.Status.NEVER
    return {
        "status": status,
        "status_label": TenantConnectState.Status(status).label,
        "status_badge": STATUS_BADGES.get(status, "idle"),
        "last_sync_at": state.last_sync_at if state else None,
        "last_error": state.last_error if state else "",
        "consecutive_failures": state.consecutive_failures if state else 0,
        "queued": bool(state and state.queued_at),
        "templates": [
            {
                "name": template.name,
                "config_name": config_name(template.slug),
                "version": template.current_version,
                "carried_version": carried.get(template.slug),
                "connect_id": connect_ids.get(template.slug, ""),
                "policy_label": template.get_policy_display(),
                "overridden": bool(overrides),
                "up_to_date": carried.get(template.slug) == template.current_version,
            }
            for template, _, overrides in templates
        ],
        "differences": differences,
        "differences_from": last.finished_at if last else None,
        "records": [
            {
                "finished_at": r.finished_at,
                "trigger": r.get_trigger_display(),
                "outcome": r.get_outcome_display(),
                "badge": OUTCOME_BADGES.get(r.outcome, "idle"),
                "api_calls": r.api_calls,
                "message": r.message,
                "change_count": sum(1 for c in r.changes if c.get("applied")),
            }
            for r in records
        ],
        "sync_url": reverse("tenant-connect-sync", kwargs={"tenant_id": tenant.pk}),
        "cannot_sync": _sync_blocker(tenant),
        "event_notifications": connect_event_notifications_for_tenant(tenant=tenant)
        if with_event_notifications
        else [],
    }


def _sync_blocker(tenant: Tenant) -> str:
    """Why "Sync Connect now" would do nothing for this tenant, or "" when it can sync."""
    if tenant.is_archived or tenant.status == Tenant.Status.OFFBOARDED:
        return "This tenant is no longer served: nothing is synced."
    cache = tenant._state.fields_cache  # the tenant page joins the account in: no query then
    linked = (
        cache["account"] is not None
        if "account" in cache
        else TenantAccount.objects.filter(tenant=tenant).exists()
    )
    if not linked:
        return "Connect syncs once the client admin has consented and linked an account."
    if tenant.status not in SYNCABLE_STATUSES:
        return (
            f"A {tenant.get_status_display().lower()} tenant is not synced: "
            "it needs consent again first."
        )
    return ""
