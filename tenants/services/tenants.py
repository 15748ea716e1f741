"""Writes to tenants: register, edit, archive, import from CSV, offboard."""

import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from common.models import AuditEvent
from common.services import audit_record
from tenants.models import ConsentAttempt, Integration, Invite, Tenant, TenantAccount, TenantToken
from tenants.services.csv_rows import (
    CsvFormat,
    CsvRow,
    CsvTooManyRows,
    FirstSeen,
    csv_rows_read,
    model_problems,
)
from tenants.services.status import tenant_status_set

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = ("name", "slug", "admin_email", "integration", "grant_mode", "owner", "notes")
IMPORT_MAX_BYTES = 1024 * 1024
IMPORT_MAX_ROWS = 5000
IMPORT_COLUMNS = ("name", "slug", "admin_email", "grant_mode", "integration", "notes")
IMPORT_REQUIRED_COLUMNS = ("name", "slug", "admin_email")
NOTES_MAX_LENGTH = 5000


class TenantRuleError(ValueError):
    """A change the tenant's state does not allow; the message says what to do instead."""


def _snapshot(tenant: Tenant) -> dict:
    return {
        "name": tenant.name,
        "slug": tenant.slug,
        "admin_email": tenant.admin_email,
        "integration": tenant.integration.name if tenant.integration_id else "",
        "grant_mode": tenant.grant_mode,
        "owner": tenant.owner.get_username() if tenant.owner is not None else "",
        "notes_length": len(tenant.notes),
    }


def _check_grant_mode(*, grant_mode: str, integration: Integration) -> None:
    uses_jwt = grant_mode in (Tenant.GrantMode.JWT, Tenant.GrantMode.ORG_ADMIN)
    if uses_jwt and not integration.has_rsa_private_key:
        raise ValidationError(
            {"grant_mode": "JWT needs an RSA private key on the integration; add or generate one."}
        )


@transaction.atomic
def tenant_create(
    *,
    name: str,
    slug: str,
    admin_email: str,
    integration: Integration,
    grant_mode: str = Tenant.GrantMode.AUTHORIZATION_CODE,
    notes: str = "",
    owner: User | None = None,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> Tenant:
    _check_grant_mode(grant_mode=grant_mode, integration=integration)
    tenant = Tenant(
        name=name,
        slug=slug,
        admin_email=admin_email,
        integration=integration,
        grant_mode=grant_mode,
        notes=notes,
        owner=owner,
    )
    tenant.full_clean()
    tenant.save()
    audit_record(
        action="tenant.create", actor=actor, target=tenant, after=_snapshot(tenant), request=request
    )
    return tenant


@transaction.atomic
def tenant_update(
    *, tenant: Tenant, actor: User | None = None, request: HttpRequest | None = None, **fields: Any
) -> Tenant:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    tenant = Tenant.objects.select_for_update().select_related("integration").get(pk=tenant.pk)
    before = _snapshot(tenant)
    has_account = TenantAccount.objects.filter(tenant=tenant).exists()
    if (
        has_account
        and "integration" in fields
        and fields["integration"].pk != tenant.integration_id
    ):
        raise TenantRuleError(
            "The tenant is linked to an account in its current environment; offboard it before "
            "moving it to another integration."
        )
    for name, value in fields.items():
        setattr(tenant, name, value)
    _check_grant_mode(grant_mode=tenant.grant_mode, integration=tenant.integration)
    tenant.full_clean()
    tenant.save()
    after = _snapshot(tenant)
    if after != before:
        changed = ", ".join(k for k in after if after[k] != before[k])
        audit_record(
            action="tenant.update",
            actor=actor,
            target=tenant,
            before=before,
            after=after,
            message=f"Changed {changed}",
            request=request,
        )
    return tenant


@transaction.atomic
def tenant_archive(
    *, tenant: Tenant, actor: User | None = None, request: HttpRequest | None = None
) -> Tenant:
    """Hide a tenant that was never linked (or was offboarded); its invite links stop working."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.is_archived:
        return tenant
    if TenantAccount.objects.filter(tenant=tenant).exists():
        raise TenantRuleError(
            "This tenant still holds access to a DocuSign account: offboard it first."
        )
    now = timezone.now()
    tenant.archived_at = now
    tenant.save(update_fields=["archived_at", "updated_at"])
    Invite.objects.filter(
        tenant=tenant, superseded_at__isnull=True, completed_at__isnull=True
    ).update(superseded_at=now)
    audit_record(action="tenant.archive", actor=actor, target=tenant, request=request)
    return tenant


@transaction.atomic
def tenant_unarchive(
    *, tenant: Tenant, actor: User | None = None, request: HttpRequest | None = None
) -> Tenant:
    """Bring an archived tenant back; its old invite links stay dead (send a new one)."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if not tenant.is_archived:
        return tenant
    tenant.archived_at = None
    tenant.save(update_fields=["archived_at", "updated_at"])
    audit_record(action="tenant.unarchive", actor=actor, target=tenant, request=request)
    return tenant


# --- CSV import ----------------------------------------------------------------------------


@dataclass
class ImportOutcome:
    created: list[Tenant] = field(default_factory=list)
    # (line number in the file, reason); empty when everything was imported.
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def tenant_import_csv(
    *,
    data: bytes,
    default_integration: Integration,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> ImportOutcome:
    """Import many tenants: every row valid, or nothing imported and each bad row reported."""
    outcome = ImportOutcome()
    rows = _csv_rows(data, outcome)
    candidates: list[Tenant] = []
    if rows is not None:
        candidates = _validate_rows(rows, default_integration, outcome)
    if outcome.errors:
        audit_record(
            action="tenant.import",
            actor=actor,
            outcome=AuditEvent.Outcome.FAILURE,
            message=f"Rejected: {len(outcome.errors)} problem(s), nothing imported; first: "
            f"line {outcome.errors[0][0]}: {outcome.errors[0][1]}",
            request=request,
        )
        return outcome
    with transaction.atomic():
        for tenant in candidates:
            tenant.save()
        outcome.created = candidates
        audit_record(
            action="tenant.import",
            actor=actor,
            message=f"Imported {len(candidates)} tenants: "
            + ", ".join(t.slug for t in candidates[:20])
            + (" …" if len(candidates) > 20 else ""),
            request=request,
        )
    return outcome


def _header_message(missing: list[str], unknown: list[str]) -> str | None:
    if missing:
        return (
            f"The header row must name the columns {', '.join(IMPORT_COLUMNS)} "
            f"(missing: {', '.join(missing)})."
        )
    if unknown:
        return f"Unknown column(s): {', '.join(unknown)}."
    return None


IMPORT_FORMAT = CsvFormat(
    columns=IMPORT_COLUMNS,
    required=IMPORT_REQUIRED_COLUMNS,
    max_bytes=IMPORT_MAX_BYTES,
    max_rows=IMPORT_MAX_ROWS,
    header_message=_header_message,
    no_rows_message="The file has no tenant rows.",
)


def _csv_rows(data: bytes, outcome: ImportOutcome) -> list[CsvRow] | None:
    try:
        return csv_rows_read(data, spec=IMPORT_FORMAT, errors=outcome.errors)
    except CsvTooManyRows as exc:
        outcome.errors.append((exc.line, str(exc)))
        return None


def _validate_rows(
    rows: list[CsvRow], default_integration: Integration, outcome: ImportOutcome
) -> list[Tenant]:
    integrations = {i.name.lower(): i for i in Integration.objects.all()}
    seen_slugs = FirstSeen("slug")
    candidates = []
    for line, values in rows:
        problems: list[tuple[str, str]] = []
        integration: Integration | None = default_integration
        if values.get("integration"):
            integration = integrations.get(values["integration"].lower())
            if integration is None:
                problems.append(
                    ("integration", f"no integration is named '{values['integration'][:60]}'")
                )
        grant_mode = (values.get("grant_mode") or Tenant.GrantMode.AUTHORIZATION_CODE).lower()
        if grant_mode not in Tenant.GrantMode.values:
            problems.append(("grant_mode", "use 'acg' or 'jwt'"))
            grant_mode = Tenant.GrantMode.AUTHORIZATION_CODE
        notes = values.get("notes", "")
        if len(notes) > NOTES_MAX_LENGTH:
            problems.append(("notes", f"at most {NOTES_MAX_LENGTH} characters"))
        tenant = Tenant(
            name=values.get("name", ""),
            slug=values.get("slug", ""),
            admin_email=values.get("admin_email", ""),
            grant_mode=grant_mode,
            notes=notes,
            integration=integration or default_integration,
        )
        problems.extend(model_problems(tenant))
        if integration is not None:
            try:
                _check_grant_mode(grant_mode=grant_mode, integration=integration)
            except ValidationError as exc:
                problems.extend(("grant_mode", m) for m in exc.message_dict["grant_mode"])
        problems.extend(seen_slugs.check(tenant.slug, line))
        if problems:
            outcome.errors.append((line, "; ".join(f"{c}: {m}" for c, m in problems)))
        else:
            candidates.append(tenant)
    return candidates


# --- offboarding ---------------------------------------------------------------------------


def tenant_offboard_refused_record(
    *, tenant: Tenant, actor: User | None, request: HttpRequest | None, problems: list[str]
) -> None:
    """A cleanup step of offboarding failed and nothing was forgotten (so it can be retried)."""
    audit_record(
        action="tenant.offboard",
        actor=actor,
        target=tenant,
        outcome=AuditEvent.Outcome.FAILURE,
        message="Cleanup failed, tokens kept: " + "; ".join(problems),
        request=request,
    )


@transaction.atomic
def tenant_offboard_forget(
    *, tenant: Tenant, actor: User | None, request: HttpRequest | None, problems: list[str]
) -> None:
    """Offboarding's last step: forget the tokens and the account link, close open invites and
    consent attempts, and mark the tenant offboarded. `problems` are cleanup failures forced past.
    """
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    account = TenantAccount.objects.filter(tenant=tenant).first()
    now = timezone.now()
    TenantToken.objects.filter(tenant=tenant).delete()
    TenantAccount.objects.filter(tenant=tenant).delete()
    Invite.objects.filter(
        tenant=tenant, superseded_at__isnull=True, completed_at__isnull=True
    ).update(superseded_at=now)
    ConsentAttempt.objects.filter(tenant=tenant).exclude(
        outcome=ConsentAttempt.Outcome.COMPLETED
    ).update(
        outcome=ConsentAttempt.Outcome.FAILED,
        error_code="offboarded",
        pending_access_token="",
        pending_refresh_token="",
    )
    audit_record(
        action="tenant.offboard",
        actor=actor,
        target=tenant,
        message="Tokens and account link forgotten"
        + (f" (account {account.account_id})" if account else "")
        + (f"; forced past: {'; '.join(problems)}" if problems else ""),
        before={"account_id": account.account_id if account else ""},
        request=request,
    )
    tenant_status_set(
        tenant=tenant,
        to_status=Tenant.Status.OFFBOARDED,
        reason="Offboarded" + (" (cleanup forced)" if problems else ""),
        actor=actor,
    )
