"""Reads of Connect state: desired configurations, the tenant panel, dashboard figures, due work."""

import hmac
import json
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, FilteredRelation, Min, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from connect.envelope_notification import event_notification_json
from connect.models import (
    ConnectAssignment,
    ConnectTemplate,
    ConnectTemplateVersion,
    PartnerConnectOAuth,
    SyncDailyStat,
    SyncRecord,
    TenantConnectState,
)
from connect.plan import DesiredConfig
from connect.services.templates import (
    RenderContext,
    TemplateRenderError,
    config_name,
    connect_config_render,
)
from tenants.models import Integration, Tenant, TenantAccount

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


def connect_template_list() -> QuerySet[ConnectTemplate]:
    return ConnectTemplate.objects.select_related("integration").annotate(
        assignment_count=Count("assignments")
    )


def connect_template_get(*, template_id: int) -> ConnectTemplate:
    return ConnectTemplate.objects.select_related("integration").get(pk=template_id)


def connect_assignment_list(*, template: ConnectTemplate) -> QuerySet[ConnectAssignment]:
    """The template's assignment rows (membership and overrides), tenants joined in."""
    return ConnectAssignment.objects.filter(template=template).select_related("tenant")


def connect_template_current_settings(*, template: ConnectTemplate) -> dict:
    version = ConnectTemplateVersion.objects.get(template=template, number=template.current_version)
    return dict(version.settings)


def _templates_for(tenant: Tenant) -> list[tuple[ConnectTemplate, dict, dict]]:
    """(template, current settings, this tenant's overrides) of every active template that
    applies, in name order: one query, the current version of each template with its template
    and this tenant's assignment (a template for chosen tenants applies only when assigned)."""
    assignment = FilteredRelation(
        "template__assignments", condition=Q(template__assignments__tenant_id=tenant.pk)
    )
    versions = (
        ConnectTemplateVersion.objects.filter(
            template__integration_id=tenant.integration_id,
            template__is_active=True,
            number=F("template__current_version"),
        )
        .annotate(
            assignment=assignment,
            assignment_id=F("assignment__id"),
            overrides=F("assignment__overrides"),
        )
        .filter(
            Q(template__applies_to=ConnectTemplate.AppliesTo.ALL) | Q(assignment_id__isnull=False)
        )
        .select_related("template")
        .only("settings", *(f"template__{name}" for name in _TEMPLATE_FIELDS))
        .order_by("template__name")
    )
    return [(v.template, v.settings, v.overrides or {}) for v in versions]


# What a sync reads of each template (the rest of the row is for the staff pages).
_TEMPLATE_FIELDS = (
    "name", "slug", "integration", "policy", "applies_to", "current_version", "basic_auth_password"
)  # fmt: skip


def _render_context(tenant: Tenant, account_id: str) -> RenderContext:
    return RenderContext(
        tenant_id=tenant.pk,
        tenant_slug=tenant.slug,
        account_id=account_id,
        allow_local_urls=tenant.integration.environment == Integration.Environment.EMULATOR,
    )


def connect_desired_for_tenant(*, tenant: Tenant, account_id: str) -> list[DesiredConfig]:
    """The tenant's desired state: one rendered configuration per template that applies."""
    context = _render_context(tenant, account_id)
    desired = []
    templates = _templates_for(tenant)
    # DocuSign never returns a Basic password, so a rotated one shows as no drift: a template
    # with a password is re-pushed when the tenant carries an older version of it.
    carried: dict = {}
    if any(template.basic_auth_password for template, _, _ in templates):
        carried = (
            TenantConnectState.objects.filter(tenant=tenant)
            .values_list("versions", flat=True)
            .first()
        ) or {}
    for template, template_settings, overrides in templates:
        try:
            config, error = (
                connect_config_render(
                    slug=template.slug,
                    settings=template_settings,
                    overrides=overrides,
                    context=context,
                    basic_auth_password=template.basic_auth_password,
                ),
                "",
            )
        except TemplateRenderError as exc:
            config, error = None, str(exc)
        desired.append(
            DesiredConfig(
                template_id=template.pk,
                slug=template.slug,
                template_name=template.name,
                version=template.current_version,
                policy=template.policy,
                name=config_name(template.slug),
                config=config,
                error=error,
                carried_version=carried.get(template.slug),
            )
        )
    return desired


def connect_template_preview(*, template: ConnectTemplate, tenant: Tenant | None) -> dict:
    """The exact JSON body a push would send for `tenant` (or for a sample tenant)."""
    template_settings = connect_template_current_settings(template=template)
    if tenant is not None:
        account = getattr(tenant, "account", None)
        account_id = account.account_id if account else "(no linked account yet)"
        overrides = (
            ConnectAssignment.objects.filter(template=template, tenant=tenant)
            .values_list("overrides", flat=True)
            .first()
        ) or {}
        context = _render_context(tenant, account_id)
    else:
        overrides = {}
        context = RenderContext(
            tenant_id=0,
            tenant_slug="sample-tenant",
            account_id="00000000-0000-4000-8000-000000000000",
            allow_local_urls=template.integration.environment == Integration.Environment.EMULATOR,
        )
    try:
        config = connect_config_render(
            slug=template.slug,
            settings=template_settings,
            overrides=overrides,
            context=context,
            basic_auth_password=template.basic_auth_password,
        )
    except TemplateRenderError as exc:
        return {"json": "", "error": str(exc), "overrides": overrides}
    body = config.to_wire()
    body.pop("connectId", None)
    if "password" in body:
        body["password"] = "(write-only: sent to DocuSign, never shown)"  # noqa: S105
    return {"json": json.dumps(body, indent=2), "error": "", "overrides": overrides}


def connect_template_tenants(*, template: ConnectTemplate) -> list[dict]:
    """The integration's tenants with whether the template applies and their overrides."""
    assignments = {a.tenant_id: a for a in template.assignments.all()}
    rows = []
    for tenant in Tenant.objects.filter(
        integration_id=template.integration_id, archived_at__isnull=True
    ).order_by("name"):
        assignment = assignments.get(tenant.pk)
        overrides = assignment.overrides if assignment else {}
        rows.append(
            {
                "tenant": tenant,
                "chosen": assignment is not None,
                "applies": template.applies_to == ConnectTemplate.AppliesTo.ALL
                or assignment is not None,
                "override_url": overrides.get("url_to_publish_to", ""),
                "override_events": ", ".join(overrides.get("events", [])),
            }
        )
    return rows


def connect_event_notifications_for_tenant(*, tenant: Tenant) -> list[dict]:
    """For each template that applies, the tenant's envelope-level `eventNotification` (JSON ready
    to paste into an envelope-create body), or why it cannot be rendered."""
    account = TenantAccount.objects.filter(tenant=tenant).only("account_id").first()
    if account is None:
        return []
    blocks = []
    for want in connect_desired_for_tenant(tenant=tenant, account_id=account.account_id):
        blocks.append(
            {
                "template": want.template_name,
                "json": event_notification_json(want.config) if want.config else "",
                "error": want.error,
                "basic_dropped": bool(want.config and want.config.user_name),
            }
        )
    return blocks


def connect_tenant_panel(*, tenant: Tenant, with_event_notifications: bool = False) -> dict:
    """The tenant page's Connect panel: state, desired vs actual, the last syncs, and (for the
    staff page, two queries more) the envelope-level eventNotification blocks."""
    state = TenantConnectState.objects.filter(tenant=tenant).first()
    records = list(SyncRecord.objects.filter(tenant=tenant).order_by("-finished_at", "-id")[:5])
    last = records[0] if records else None
    templates = _templates_for(tenant)
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


# Statuses a sync runs for (connect.services.sync.SYNCABLE_STATUSES).
SYNCABLE = (Tenant.Status.CONSENTED, Tenant.Status.ACTIVE, Tenant.Status.ERROR)


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
    if tenant.status not in SYNCABLE:
        return (
            f"A {tenant.get_status_display().lower()} tenant is not synced: "
            "it needs consent again first."
        )
    return ""


def connect_health_counts() -> dict:
    """Tenants per Connect status ({status: count}), for the dashboard; one query."""
    rows = (
        TenantConnectState.objects.filter(tenant__archived_at__isnull=True)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
    )
    counts = {key: 0 for key in TenantConnectState.Status.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def connect_sync_outcomes_by_day(*, days: int) -> list[dict]:
    """[{"date": date, "<outcome>": count, ...}] for each of the last `days` days, oldest first,
    from the daily rollup (never the history)."""
    today = timezone.now().date()
    start = today - timedelta(days=days - 1)
    by_day: dict[date, dict] = {
        start + timedelta(days=i): {
            "date": start + timedelta(days=i),
            **{o: 0 for o in SyncRecord.Outcome.values},
        }
        for i in range(days)
    }
    rows = SyncDailyStat.objects.filter(date__gte=start, date__lte=today).values_list(
        "date", "outcome", "count"
    )
    for day, outcome, count in rows:
        by_day[day][outcome] = count
    return list(by_day.values())


def connect_sync_overdue(*, now: datetime) -> tuple[int, datetime | None]:
    """Syncs queued longer than their lease (lost, or stuck behind a backlog): how many, and the
    earliest lease end. The next beat tick enqueues them again."""
    found = TenantConnectState.objects.filter(
        lease_expires_at__lt=now, tenant__archived_at__isnull=True
    ).aggregate(n=Count("pk"), oldest=Min("lease_expires_at"))
    return found["n"], found["oldest"]


def connect_due_tenant_ids(
    *, now: datetime | None = None, limit: int | None = None, all_queued_lost: bool = False
) -> list[int]:
    """Tenants to enqueue: those whose sync was lost (queued, but the lease ran out; with
    `all_queued_lost`, every queued one), then those whose last sync is older than
    CONNECT_SYNC_INTERVAL_S (or never ran) and not already queued."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.CONNECT_SYNC_INTERVAL_S)
    limit = limit or settings.CONNECT_SYNC_BATCH
    has_templates = ConnectTemplate.objects.filter(is_active=True).values("integration_id")
    never_synced = Q(connect_state__isnull=True) | Q(connect_state__last_sync_at__isnull=True)
    interval_passed = never_synced | Q(connect_state__last_sync_at__lt=cutoff)
    not_queued = Q(connect_state__isnull=True) | Q(connect_state__lease_expires_at__isnull=True)
    lease_ran_out = (
        Q(connect_state__lease_expires_at__isnull=False)
        if all_queued_lost
        else Q(connect_state__lease_expires_at__lt=now)
    )
    tenants = (
        Tenant.objects.filter(
            archived_at__isnull=True,
            status__in=(Tenant.Status.CONSENTED, Tenant.Status.ACTIVE, Tenant.Status.ERROR),
            integration_id__in=has_templates,
        )
        .filter((interval_passed & not_queued) | lease_ran_out)
        .order_by(F("connect_state__lease_expires_at").asc(nulls_last=True), "pk")
    )
    return list(tenants.values_list("pk", flat=True)[:limit])


def connect_partner_oauth_get(*, integration: Integration) -> PartnerConnectOAuth | None:
    return PartnerConnectOAuth.objects.filter(integration=integration).first()


def connect_integrations() -> QuerySet[Integration]:
    return Integration.objects.filter(is_active=True).order_by("name")


def connect_tenant_ids_for_bulk(*, template: ConnectTemplate | None) -> list[tuple[int, str]]:
    """(id, label) of the tenants a bulk push or resync covers: a template's, or all served."""
    tenants = Tenant.objects.filter(
        archived_at__isnull=True,
        status__in=(Tenant.Status.CONSENTED, Tenant.Status.ACTIVE, Tenant.Status.ERROR),
    )
    if template is not None:
        tenants = tenants.filter(integration_id=template.integration_id)
        if template.applies_to == ConnectTemplate.AppliesTo.CHOSEN:
            tenants = tenants.filter(connect_assignments__template=template)
    return list(tenants.order_by("name").values_list("pk", "name"))


def connect_template_basic_verify(*, integration_id: int, username: str, password: str) -> bool:
    """Whether a delivery's Basic credentials are those an active template of the integration
    pushes (compared in constant time, every candidate checked)."""
    ok = False
    rows = ConnectTemplateVersion.objects.filter(
        template__integration_id=integration_id,
        template__is_active=True,
        number=F("template__current_version"),
    ).select_related("template")
    for version in rows.only("settings", "template__basic_auth_password"):
        user = (version.settings or {}).get("basic_auth_user", "")
        secret = version.template.basic_auth_password
        if not user or not secret:
            continue
        user_ok = hmac.compare_digest(user.encode("utf-8"), username.encode("utf-8"))
        pass_ok = hmac.compare_digest(secret.encode("utf-8"), password.encode("utf-8"))
        ok |= user_ok and pass_ok
    return ok


def connect_template_auth_list(*, integration: Integration) -> list[dict]:
    """How each active template of the integration asks DocuSign to authenticate its messages
    (the webhook authentication section of the integration's listener page)."""
    versions = ConnectTemplateVersion.objects.filter(
        template__integration=integration,
        template__is_active=True,
        number=F("template__current_version"),
    ).select_related("template")
    return [
        {
            "name": v.template.name,
            "template_id": v.template_id,
            "url": v.settings.get("url_to_publish_to", ""),
            "hmac": bool(v.settings.get("include_hmac")),
            "oauth": bool(v.settings.get("include_oauth")),
            "basic": bool(v.settings.get("basic_auth_user")),
            "mtls": bool(v.settings.get("require_mutual_tls")),
        }
        for v in sorted(versions, key=lambda v: v.template.name)
    ]
