"""Writes to Connect templates and their assignments, and the rendering of a tenant's desired state.

Every save of a template creates a new immutable `ConnectTemplateVersion`; the scheduled sync (or a
bulk push) then carries it to the tenants.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from accounts.models import User
from common.services import audit_record
from connect.models import ConnectAssignment, ConnectTemplate, ConnectTemplateVersion
from connect.validation import publish_url_errors, url_fill
from docusign_api import ConnectConfiguration, EventData
from tenants.models import Integration, Tenant

# The fixed start of every configuration name the portal owns on a client account. DocuSign has no
# idempotency keys: the stable name is how a retried or crashed push finds what it already made.
CONFIG_NAME_PREFIX = "PartnerPortal:"
SETTINGS_KEYS = (
    "url_to_publish_to",
    "events",
    "include_data",
    "delivery_mode",
    "requires_acknowledgement",
    "enable_log",
    "all_users",
    "allow_envelope_publish",
    "include_hmac",
    "include_oauth",
)
# Added later: versions saved before them read these defaults.
OPTIONAL_SETTINGS = {"basic_auth_user": "", "basic_auth_rev": 0, "require_mutual_tls": False}
OVERRIDE_KEYS = ("url_to_publish_to", "events")


class TemplateRenderError(ValueError):
    """The template cannot be rendered for this tenant (say, an override made the URL invalid)."""


def config_name(slug: str) -> str:
    return f"{CONFIG_NAME_PREFIX} {slug}"


def _clean_settings(settings: dict[str, Any]) -> dict[str, Any]:
    missing = [key for key in SETTINGS_KEYS if key not in settings]
    if missing:
        raise ValueError(f"Template settings lack {', '.join(missing)}.")
    cleaned = {key: settings[key] for key in SETTINGS_KEYS}
    cleaned["events"] = list(cleaned["events"])
    cleaned["include_data"] = list(cleaned["include_data"])
    for key, default in OPTIONAL_SETTINGS.items():
        cleaned[key] = settings.get(key, default)
    return cleaned


def _basic_auth_apply(
    cleaned: dict[str, Any],
    *,
    previous: dict[str, Any] | None,
    new_password: str,
    has_password: bool,
) -> str:
    """Checks the Basic credentials and counts their revision; returns the password to keep
    ("" when Basic is off). ValueError says what to do when a user name has no password."""
    user = (cleaned.get("basic_auth_user") or "").strip()
    cleaned["basic_auth_user"] = user
    rev = int((previous or {}).get("basic_auth_rev", 0))
    if not user:
        cleaned["basic_auth_rev"] = rev
        return ""
    if not new_password and not has_password:
        raise ValueError(
            "Enter the Basic password: DocuSign sends the user name and the password together. "
            "Or clear the user name to turn Basic authentication off."
        )
    changed = bool(new_password) or user != (previous or {}).get("basic_auth_user", "")
    cleaned["basic_auth_rev"] = rev + 1 if changed else rev
    return new_password


@transaction.atomic
def connect_template_create(
    *,
    actor: User | None,
    name: str,
    slug: str,
    integration: Integration,
    policy: str,
    applies_to: str,
    settings: dict[str, Any],
    basic_auth_password: str = "",
    request: HttpRequest | None = None,
) -> ConnectTemplate:
    """A new template and its version 1. `basic_auth_password` is write-only (never in settings,
    the audit log or a preview); ValueError when Basic has a user name and no password."""
    cleaned = _clean_settings(settings)
    password = _basic_auth_apply(
        cleaned, previous=None, new_password=basic_auth_password, has_password=False
    )
    template = ConnectTemplate.objects.create(
        name=name,
        slug=slug,
        integration=integration,
        policy=policy,
        applies_to=applies_to,
        current_version=1,
        basic_auth_password=password,
    )
    ConnectTemplateVersion.objects.create(
        template=template,
        number=1,
        settings=cleaned,
        created_by_label=actor.get_username() if actor else "system",
    )
    audit_record(
        action="connect.template.create",
        actor=actor,
        target=template,
        request=request,
        after={"slug": slug, "policy": policy, "applies_to": applies_to, "version": 1},
    )
    return template


@transaction.atomic
def connect_template_update(
    *,
    template: ConnectTemplate,
    actor: User | None,
    name: str,
    policy: str,
    applies_to: str,
    is_active: bool,
    settings: dict[str, Any],
    basic_auth_password: str = "",
    request: HttpRequest | None = None,
) -> ConnectTemplateVersion:
    """Save a new version (every save does, so tenants can tell which one they carry). An empty
    `basic_auth_password` keeps the stored one; a new one is pushed to every tenant."""
    locked = ConnectTemplate.objects.select_for_update().get(pk=template.pk)
    number = locked.current_version + 1
    previous = (
        ConnectTemplateVersion.objects.filter(template=locked, number=locked.current_version)
        .values_list("settings", flat=True)
        .first()
    )
    cleaned = _clean_settings(settings)
    password = _basic_auth_apply(
        cleaned,
        previous=previous,
        new_password=basic_auth_password,
        has_password=bool(locked.basic_auth_password),
    ) or (locked.basic_auth_password if cleaned["basic_auth_user"] else "")
    before = {
        "name": locked.name,
        "policy": locked.policy,
        "applies_to": locked.applies_to,
        "is_active": locked.is_active,
        "version": locked.current_version,
    }
    version = ConnectTemplateVersion.objects.create(
        template=locked,
        number=number,
        settings=cleaned,
        created_by_label=actor.get_username() if actor else "system",
    )
    ConnectTemplate.objects.filter(pk=locked.pk).update(
        name=name,
        policy=policy,
        applies_to=applies_to,
        is_active=is_active,
        current_version=number,
    )
    if password != locked.basic_auth_password:
        # Through the model: update() would skip the field's encryption.
        locked.basic_auth_password = password
        locked.save(update_fields=["basic_auth_password"])
    template.refresh_from_db()
    audit_record(
        action="connect.template.update",
        actor=actor,
        target=template,
        request=request,
        before=before,
        after={
            "name": name,
            "policy": policy,
            "applies_to": applies_to,
            "is_active": is_active,
            "version": number,
            "basic_auth_password": "changed" if basic_auth_password else "unchanged",
        },
    )
    return version


@transaction.atomic
def connect_assignment_set(
    *,
    template: ConnectTemplate,
    tenant_ids: Iterable[int],
    actor: User | None,
    request: HttpRequest | None = None,
) -> None:
    """The chosen tenants of a template: rows are added or removed; overrides of tenants that
    stay are kept. For an "all tenants" template, rows only carry overrides."""
    wanted = set(
        Tenant.objects.filter(
            pk__in=list(tenant_ids), integration=template.integration_id
        ).values_list("pk", flat=True)
    )
    current = set(template.assignments.values_list("tenant_id", flat=True))
    removed = current - wanted
    if template.applies_to == ConnectTemplate.AppliesTo.ALL:
        # Leaving a tenant out of an "all" template only drops its overrides.
        removed = {tid for tid in removed if not _has_overrides(template, tid)}
    template.assignments.filter(tenant_id__in=removed).delete()
    ConnectAssignment.objects.bulk_create(
        [ConnectAssignment(template=template, tenant_id=tid) for tid in wanted - current]
    )
    audit_record(
        action="connect.assignment.set",
        actor=actor,
        target=template,
        request=request,
        message=f"{len(wanted)} chosen, {len(wanted - current)} added, {len(removed)} removed",
    )


class AssignmentRuleError(ValueError):
    """An assignment the template does not allow; the message says why."""


@transaction.atomic
def connect_assignment_add(
    *,
    template: ConnectTemplate,
    tenant: Tenant,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> ConnectAssignment:
    """Choose one more tenant for a "chosen tenants" template (adding it twice changes nothing)."""
    if template.applies_to != ConnectTemplate.AppliesTo.CHOSEN:
        raise AssignmentRuleError("This template applies to every tenant of its integration.")
    if tenant.integration_id != template.integration_id:
        raise AssignmentRuleError("The tenant belongs to another integration than the template.")
    assignment, created = ConnectAssignment.objects.get_or_create(template=template, tenant=tenant)
    if created:
        audit_record(
            action="connect.assignment.add",
            actor=actor,
            target=template,
            target_label=f"{template} / {tenant}",
            after={"tenant": tenant.slug},
            request=request,
        )
    return assignment


@transaction.atomic
def connect_assignment_remove(
    *,
    template: ConnectTemplate,
    tenant: Tenant,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> bool:
    """Take a tenant off a "chosen tenants" template; its overrides go with it."""
    if template.applies_to != ConnectTemplate.AppliesTo.CHOSEN:
        raise AssignmentRuleError("This template applies to every tenant of its integration.")
    deleted, _ = ConnectAssignment.objects.filter(template=template, tenant=tenant).delete()
    if deleted:
        audit_record(
            action="connect.assignment.remove",
            actor=actor,
            target=template,
            target_label=f"{template} / {tenant}",
            before={"tenant": tenant.slug},
            request=request,
        )
    return bool(deleted)


def _has_overrides(template: ConnectTemplate, tenant_id: int) -> bool:
    row = template.assignments.filter(tenant_id=tenant_id).first()
    return bool(row and row.overrides)


@transaction.atomic
def connect_override_set(
    *,
    template: ConnectTemplate,
    tenant: Tenant,
    url_to_publish_to: str,
    events: list[str] | None,
    actor: User | None,
    request: HttpRequest | None = None,
) -> ConnectAssignment:
    """Per-tenant overrides; empty values mean "use the template's"."""
    overrides: dict[str, Any] = {}
    if url_to_publish_to:
        overrides["url_to_publish_to"] = url_to_publish_to
    if events:
        overrides["events"] = list(events)
    assignment, _ = ConnectAssignment.objects.update_or_create(
        template=template, tenant=tenant, defaults={"overrides": overrides}
    )
    audit_record(
        action="connect.override.set",
        actor=actor,
        target=template,
        request=request,
        target_label=f"{template} / {tenant}",
        after={"tenant": tenant.slug, **overrides},
    )
    return assignment


@dataclass(frozen=True)
class RenderContext:
    tenant_id: int
    tenant_slug: str
    account_id: str
    allow_local_urls: bool


def connect_config_render(
    *,
    slug: str,
    settings: dict[str, Any],
    overrides: dict[str, Any],
    context: RenderContext,
    basic_auth_password: str = "",
) -> ConnectConfiguration:
    """The exact configuration the portal wants on one account for one template."""
    merged = {**OPTIONAL_SETTINGS, **settings}
    merged.update({k: v for k, v in overrides.items() if k in OVERRIDE_KEYS and v})
    url = url_fill(
        merged["url_to_publish_to"],
        {
            "tenant_slug": context.tenant_slug,
            "account_id": context.account_id,
            "tenant_id": str(context.tenant_id),
        },
    )
    errors = publish_url_errors(url, allow_local=context.allow_local_urls)
    if errors:
        raise TemplateRenderError(f"Listener URL {url!r}: {' '.join(errors)}")
    sim = merged["delivery_mode"] == "SIM"
    basic_user = merged["basic_auth_user"]
    if basic_user and not basic_auth_password:
        raise TemplateRenderError(
            "Basic authentication has a user name but no password: set the password on the "
            "template."
        )
    return ConnectConfiguration(
        name=config_name(slug),
        configuration_type="custom",
        url_to_publish_to=url,
        delivery_mode=merged["delivery_mode"],
        events=tuple(merged["events"]) if sim else (),
        # JSON SIM needs eventData.version restv2.1 (API.md 2.2); Aggregate is the XML model.
        event_data=EventData(
            version="restv2.1" if sim else "",
            format="json" if sim else "",
            include_data=tuple(merged["include_data"]),
        ),
        requires_acknowledgement=bool(merged["requires_acknowledgement"]),
        enable_log=bool(merged["enable_log"]),
        all_users=bool(merged["all_users"]),
        allow_envelope_publish=bool(merged["allow_envelope_publish"]),
        include_hmac=bool(merged["include_hmac"]),
        include_oauth=bool(merged["include_oauth"]),
        # Always: DocuSign then signs or authorises with the partner's keys (API.md 2.4).
        integrator_managed=True,
        # API.md 3.3: userName/password as the listener's Basic credentials is UNCONFIRMED.
        user_name=basic_user or None,
        password=basic_auth_password if basic_user else None,
        require_mutual_tls=bool(merged["require_mutual_tls"]),
    )
