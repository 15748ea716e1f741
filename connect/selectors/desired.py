"""The desired state of a tenant's Connect configurations: each template that applies, rendered
for the tenant's account (what a sync pushes, what a preview shows, and the envelope-level
eventNotification blocks)."""

import json

from django.db.models import F, FilteredRelation, Q

from connect.envelope_notification import event_notification_json
from connect.models import (
    ConnectAssignment,
    ConnectTemplate,
    ConnectTemplateVersion,
    TenantConnectState,
)
from connect.plan import DesiredConfig
from connect.selectors.templates import connect_template_current_settings
from connect.services.templates import (
    RenderContext,
    TemplateRenderError,
    config_name,
    connect_config_render,
)
from tenants.models import Integration, Tenant, TenantAccount


def connect_templates_for_tenant(*, tenant: Tenant) -> list[tuple[ConnectTemplate, dict, dict]]:
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
    templates = connect_templates_for_tenant(tenant=tenant)
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
