"""Reads of Connect templates: lists, assignments, which tenants a template applies to, and how
each template authenticates its messages."""

import hmac

from django.db.models import Count, F, QuerySet

from connect.models import (
    ConnectAssignment,
    ConnectTemplate,
    ConnectTemplateVersion,
    PartnerConnectOAuth,
)
from tenants.models import Integration, Tenant


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


def connect_partner_oauth_get(*, integration: Integration) -> PartnerConnectOAuth | None:
    return PartnerConnectOAuth.objects.filter(integration=integration).first()


def connect_integrations() -> QuerySet[Integration]:
    return Integration.objects.filter(is_active=True).order_by("name")


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
