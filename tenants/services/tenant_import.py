"""Bring existing clients in: tenants whose grant the partner already holds (a refresh token from an
earlier Authorization Code Grant, or the user id JWT impersonates), each verified with DocuSign
before it counts as consented.

Two passes. First every row is checked without calling DocuSign; one bad row and nothing is done.
Then each row is verified (a refresh or JWT grant, userinfo, the base_uri allow-list) and, when it
passes, stored in one transaction: tenant, account link and tokens together or not at all. A
verified row is kept even when a later one fails, because a refresh rotates the token and the
partner's old one may no longer work.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from common.models import AuditEvent
from common.services import audit_record
from docusign_api import (
    Account,
    DocuSignError,
    DocuSignUnavailable,
    UserInfo,
    base_uri_host_allowed,
)
from tenants.docusign import docusign_client_for
from tenants.models import Integration, Tenant, TenantAccount, TenantToken
from tenants.services.status import tenant_status_set
from tenants.services.system_user import USER_ID_RE, SystemUserError, system_user_verify

COLUMNS = (
    "name", "slug", "admin_email", "grant_mode", "integration", "account_id", "refresh_token",
    "user_id",
)  # fmt: skip
REQUIRED_COLUMNS = ("name", "slug", "admin_email", "grant_mode")
MAX_BYTES = 512 * 1024
MAX_ROWS = 500
REFRESH_TOKEN_LIFETIME = timedelta(days=30)
_ACCOUNT_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")


@dataclass
class ExistingClient:
    line: int
    tenant: Tenant  # unsaved
    account_id: str
    refresh_token: str = field(repr=False)
    user_id: str


@dataclass
class ExistingImportOutcome:
    imported: list[Tenant] = field(default_factory=list)
    # (line in the file, what went wrong and what to do); the rows named here were not imported.
    errors: list[tuple[int, str]] = field(default_factory=list)
    checked: bool = False  # True once every row passed the first pass


class _RowRefused(Exception):
    pass


def tenant_import_existing_csv(
    *,
    data: bytes,
    default_integration: Integration,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> ExistingImportOutcome:
    """Import existing clients from CSV (see COLUMNS). Secrets in the file are never logged."""
    outcome = ExistingImportOutcome()
    rows = _parse(data, outcome)
    if rows is None:
        _audit_rejected(outcome, actor=actor, request=request)
        return outcome
    return tenant_import_existing(
        rows=rows, default_integration=default_integration, actor=actor, request=request
    )


def tenant_import_existing(
    *,
    rows: list[tuple[int, dict]],
    default_integration: Integration,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> ExistingImportOutcome:
    """Rows are (line, {column: value}); the API may hand them in directly."""
    outcome = ExistingImportOutcome()
    clients = _check(rows, default_integration, outcome)
    if outcome.errors:
        _audit_rejected(outcome, actor=actor, request=request)
        return outcome
    outcome.checked = True
    for client in clients:
        try:
            tenant = _verify_and_store(client, actor=actor, request=request)
        except _RowRefused as refused:
            outcome.errors.append((client.line, str(refused)))
        else:
            outcome.imported.append(tenant)
    audit_record(
        action="tenant.import_existing",
        actor=actor,
        outcome=AuditEvent.Outcome.FAILURE if outcome.errors else AuditEvent.Outcome.SUCCESS,
        message=f"Imported {len(outcome.imported)} verified client(s)"
        + (f"; {len(outcome.errors)} row(s) refused" if outcome.errors else ""),
        request=request,
    )
    return outcome


# --- first pass: no DocuSign call -----------------------------------------------------------


def _parse(data: bytes, outcome: ExistingImportOutcome) -> list[tuple[int, dict]] | None:
    if len(data) > MAX_BYTES:
        outcome.errors.append((0, f"The file is larger than {MAX_BYTES // 1024} KB."))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        outcome.errors.append((0, "The file is not UTF-8 text; save it as CSV UTF-8."))
        return None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [h for h in header if h and h not in COLUMNS]
    if missing or unknown:
        outcome.errors.append(
            (1, f"The header row must use the columns {', '.join(COLUMNS)}"
                + (f" (missing: {', '.join(missing)})" if missing else "")
                + (f" (unknown: {', '.join(unknown)})" if unknown else "") + ".")
        )  # fmt: skip
        return None
    reader.fieldnames = header
    rows: list[tuple[int, dict]] = []
    try:
        for raw in reader:
            if len(rows) >= MAX_ROWS:
                outcome.errors.append((reader.line_num, f"More than {MAX_ROWS} rows."))
                return None
            if None in raw:
                outcome.errors.append((reader.line_num, "This row has more cells than the header."))
                continue
            values = {k: (v or "").strip() for k, v in raw.items()}
            if any(values.values()):
                rows.append((reader.line_num, values))
    except csv.Error as exc:
        outcome.errors.append((reader.line_num, f"The CSV cannot be read: {exc}."))
        return None
    if not rows and not outcome.errors:
        outcome.errors.append((0, "The file has no client rows."))
    return None if outcome.errors else rows


def _check(
    rows: list[tuple[int, dict]], default_integration: Integration, outcome: ExistingImportOutcome
) -> list[ExistingClient]:
    integrations = {i.name.lower(): i for i in Integration.objects.all()}
    taken_accounts = set(TenantAccount.objects.values_list("account_id", flat=True))
    seen_slugs: dict[str, int] = {}
    seen_accounts: dict[str, int] = {}
    clients = []
    for line, values in rows:
        problems: list[str] = []
        integration = default_integration
        if values.get("integration"):
            named = integrations.get(values["integration"].lower())
            if named is None:
                problems.append(
                    f"integration: no integration is named '{values['integration'][:60]}'"
                )
            else:
                integration = named
        grant_mode = values.get("grant_mode", "").lower()
        if grant_mode not in Tenant.GrantMode.values:
            problems.append("grant_mode: use acg (refresh token), jwt or org_jwt (user id)")
            grant_mode = Tenant.GrantMode.AUTHORIZATION_CODE
        tenant = Tenant(
            name=values.get("name", ""),
            slug=values.get("slug", ""),
            admin_email=values.get("admin_email", ""),
            grant_mode=grant_mode,
            integration=integration,
        )
        try:
            tenant.full_clean()
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                problems.extend(f"{'row' if name == '__all__' else name}: {m}" for m in messages)
        refresh_token = values.get("refresh_token", "")
        user_id = values.get("user_id", "").lower()
        if grant_mode == Tenant.GrantMode.AUTHORIZATION_CODE:
            if not refresh_token:
                problems.append("refresh_token: an acg row needs the refresh token you hold")
            elif not integration.secret_key:
                problems.append(
                    f"integration: '{integration.name}' has no secret key, which a refresh needs"
                )
        else:
            if not USER_ID_RE.match(user_id):
                problems.append(
                    "user_id: a JWT row needs the DocuSign API user id (a GUID) to impersonate"
                )
            if not integration.rsa_private_key:
                problems.append(f"integration: '{integration.name}' has no RSA key for JWT")
        account_id = values.get("account_id", "")
        if account_id and not _ACCOUNT_ID.match(account_id):
            problems.append("account_id: a DocuSign account id (GUID) or empty")
        elif account_id in taken_accounts:
            problems.append(f"account_id: {account_id} is already linked to a tenant")
        elif account_id and account_id in seen_accounts:
            problems.append(f"account_id: also on line {seen_accounts[account_id]}")
        elif account_id:
            seen_accounts[account_id] = line
        slug = tenant.slug.lower()
        if slug and slug in seen_slugs:
            problems.append(f"slug: '{tenant.slug[:63]}' is also used on line {seen_slugs[slug]}")
        elif slug:
            seen_slugs[slug] = line
        if problems:
            outcome.errors.append((line, "; ".join(problems)))
        else:
            clients.append(ExistingClient(line, tenant, account_id, refresh_token, user_id))
    return clients


def _audit_rejected(
    outcome: ExistingImportOutcome, *, actor: User | None, request: HttpRequest | None
) -> None:
    line, reason = outcome.errors[0]
    audit_record(
        action="tenant.import_existing",
        actor=actor,
        outcome=AuditEvent.Outcome.FAILURE,
        message=f"Rejected: {len(outcome.errors)} problem(s), nothing imported; first: "
        f"line {line}: {reason}"[:500],
        request=request,
    )


# --- second pass: verified with DocuSign, stored whole ---------------------------------------


def _verify_and_store(
    client: ExistingClient, *, actor: User | None, request: HttpRequest | None
) -> Tenant:
    tenant = client.tenant
    integration = tenant.integration
    if tenant.uses_jwt:
        try:
            verified = system_user_verify(
                integration=integration,
                user_id=client.user_id,
                account_id=client.account_id or None,
            )
        except SystemUserError as exc:
            raise _RowRefused(f"user_id: {exc.message}") from None
        token = verified.token_set
        access, refresh, expires_at, refresh_expires_at = (
            token.access_token, "", token.expires_at, None
        )  # fmt: skip
        info = verified.info
    else:
        api = docusign_client_for(integration)
        try:
            token = api.oauth.refresh(
                client_id=integration.integration_key,
                client_secret=integration.secret_key,
                refresh_token=client.refresh_token,
            )
            info = api.oauth.userinfo(token.access_token)
        except DocuSignUnavailable:
            raise _RowRefused(
                "DocuSign did not answer; nothing was stored for this row. Import it again later."
            ) from None
        except DocuSignError as exc:
            raise _RowRefused(_refresh_refusal(exc)) from None
        access, refresh = token.access_token, token.refresh_token or client.refresh_token
        expires_at = token.expires_at
        refresh_expires_at = token.refresh_expires_at or timezone.now() + REFRESH_TOKEN_LIFETIME
    account = _account_choose(info, client)
    if not base_uri_host_allowed(account.base_uri, integration.allowed_base_uri_hosts):
        raise _RowRefused(
            f"account_id: DocuSign reports the base URI {account.base_uri} for account "
            f"{account.account_id}, which is not an allowed host for this environment "
            "(DOCUSIGN_*_BASE_URI_HOSTS), so no token was stored or sent there."
        )
    try:
        return _store(
            client, info=info, account=account,
            tokens=(access, refresh, expires_at, refresh_expires_at),
            actor=actor, request=request,
        )  # fmt: skip
    except IntegrityError:
        raise _RowRefused(
            "slug or account_id: registered by someone else meanwhile; nothing was stored."
        ) from None


def _refresh_refusal(exc: DocuSignError) -> str:
    text = f"{exc.error_code} {exc.message}"
    if "unauthorized_client" in text or "invalid_client" in text:
        return (
            "refresh_token: DocuSign says it belongs to another integration key (or the "
            "integration's secret is wrong). Import it under the integration that issued it."
        )
    return (
        "refresh_token: DocuSign refused it (expired, revoked or already used). Get a fresh one, "
        "or register the tenant and send an invite instead."
    )


def _account_choose(info: UserInfo, client: ExistingClient) -> Account:
    if not info.accounts:
        raise _RowRefused("The DocuSign user belongs to no account; nothing was stored.")
    if client.account_id:
        match = next((a for a in info.accounts if a.account_id == client.account_id), None)
        if match is None:
            raise _RowRefused(
                f"account_id: the DocuSign user {info.email or info.sub} has no access to "
                f"{client.account_id}; their accounts: "
                + ", ".join(a.account_id for a in info.accounts)
            )
        return match
    if len(info.accounts) > 1:
        raise _RowRefused(
            f"account_id: the DocuSign user belongs to {len(info.accounts)} accounts; put the one "
            "to link in account_id (" + ", ".join(a.account_id for a in info.accounts) + ")."
        )
    return info.accounts[0]


@transaction.atomic
def _store(
    client: ExistingClient,
    *,
    info: UserInfo,
    account: Account,
    tokens: tuple[str, str, datetime, datetime | None],
    actor: User | None,
    request: HttpRequest | None,
) -> Tenant:
    tenant = client.tenant
    if TenantAccount.objects.filter(account_id=account.account_id).exists():
        raise _RowRefused(f"account_id: {account.account_id} is already linked to a tenant")
    tenant.save()
    now = timezone.now()
    access, refresh, expires_at, refresh_expires_at = tokens
    TenantAccount.objects.create(
        tenant=tenant,
        account_id=account.account_id,
        account_name=(account.account_name or "")[:200],
        base_uri=account.base_uri,
        user_id=info.sub,
        user_email=(info.email or "")[:254],
        user_name=(info.name or "")[:200],
        consent_level=TenantAccount.ConsentLevel.IMPORTED,
        scopes="signature impersonation" if tenant.uses_jwt else "signature extended",
        consented_at=now,
        jwt_verified_at=now if tenant.uses_jwt else None,
    )
    TenantToken.objects.create(
        tenant=tenant,
        access_token=access,
        access_expires_at=expires_at,
        refresh_token=refresh,
        refresh_expires_at=refresh_expires_at,
        refreshed_at=now,
        generation=1,
    )
    audit_record(
        action="tenant.import_existing",
        actor=actor,
        target=tenant,
        message=f"Imported with an existing grant, verified by "
        f"{'JWT' if tenant.uses_jwt else 'a refresh'}: {account.account_name} "
        f"({account.account_id}) as {info.email or info.sub}",
        request=request,
    )
    tenant_status_set(
        tenant=tenant,
        to_status=Tenant.Status.CONSENTED,
        reason="Imported with an existing grant, verified with DocuSign",
        actor_label=actor.get_username() if actor else "import",
    )
    return tenant
