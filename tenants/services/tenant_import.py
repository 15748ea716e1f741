"""Bring existing clients in: tenants whose grant the partner already holds (a refresh token from an
earlier Authorization Code Grant, or the user id JWT impersonates), each verified with DocuSign
before it counts as consented.

Two passes. First every row is checked without calling DocuSign; one bad row and nothing is done.
Then each row is verified (tenant_import_verify.py: a refresh or JWT grant, userinfo, the base_uri
allow-list) and, when it passes, stored in one transaction: tenant, account link and tokens
together or not at all. A verified row is kept even when a later one fails, because a refresh
rotates the token and the partner's old one may no longer work. The staff upload and the partner
API (portal/api/views/tenant_import.py) both come through here.
"""

import re
from dataclasses import dataclass, field, replace
from typing import Any

from django.http import HttpRequest

from accounts.models import User
from common.models import AuditEvent
from common.services import audit_record
from tenants.models import Integration, Tenant, TenantAccount
from tenants.services.csv_rows import (
    CsvFormat,
    CsvRow,
    CsvTooManyRows,
    FirstSeen,
    csv_rows_read,
    model_problems,
)
from tenants.services.system_user import USER_ID_RE
from tenants.services.tenant_import_verify import (
    ExistingClient,
    RowRefused,
    existing_client_verify_and_store,
)

COLUMNS = (
    "name", "slug", "admin_email", "grant_mode", "integration", "account_id", "refresh_token",
    "user_id",
)  # fmt: skip
REQUIRED_COLUMNS = ("name", "slug", "admin_email", "grant_mode")
MAX_BYTES = 512 * 1024
MAX_ROWS = 500
_ACCOUNT_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")


def _header_message(missing: list[str], unknown: list[str]) -> str | None:
    if not missing and not unknown:
        return None
    return (
        f"The header row must use the columns {', '.join(COLUMNS)}"
        + (f" (missing: {', '.join(missing)})" if missing else "")
        + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        + "."
    )


CSV_FORMAT = CsvFormat(
    columns=COLUMNS,
    required=REQUIRED_COLUMNS,
    max_bytes=MAX_BYTES,
    max_rows=MAX_ROWS,
    header_message=_header_message,
    no_rows_message="The file has no client rows.",
)


@dataclass(frozen=True)
class RowError:
    line: int  # the line in the file (the position in the list for the API); 0: the whole file
    # (column, what is wrong and what to do); column "" when no single column is at fault.
    problems: tuple[tuple[str, str], ...]

    @property
    def reason(self) -> str:
        return "; ".join(
            f"{column}: {message}" if column else message for column, message in self.problems
        )


@dataclass
class ExistingImportOutcome:
    created: dict[int, Tenant] = field(default_factory=dict)  # line → the imported tenant
    errors: list[RowError] = field(default_factory=list)  # the rows named here were not imported
    checked: bool = False  # True once every row passed the first pass

    @property
    def imported(self) -> list[Tenant]:
        return list(self.created.values())


def tenant_import_existing_csv(
    *,
    data: bytes,
    default_integration: Integration | None,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> ExistingImportOutcome:
    """Import existing clients from CSV (see COLUMNS). Secrets in the file are never logged."""
    try:
        rows, errors = tenant_import_existing_csv_rows(data=data)
    except CsvTooManyRows as exc:
        rows, errors = [], [RowError(exc.line, (("", str(exc)),))]
    if errors:
        outcome = ExistingImportOutcome(errors=errors)
        _audit_rejected(outcome, actor=actor, request=request)
        return outcome
    return tenant_import_existing(
        rows=rows, default_integration=default_integration, actor=actor, request=request
    )


def tenant_import_existing_csv_rows(
    *, data: bytes, max_rows: int = MAX_ROWS
) -> tuple[list[CsvRow], list[RowError]]:
    """The rows of an existing-clients CSV, or what makes the file unusable (then no rows).
    Raises CsvTooManyRows past `max_rows`."""
    errors: list[tuple[int, str]] = []
    rows = csv_rows_read(data, spec=replace(CSV_FORMAT, max_rows=max_rows), errors=errors)
    if errors:
        return [], [RowError(line, (("", message),)) for line, message in errors]
    return rows or [], []


def tenant_import_existing(
    *,
    rows: list[tuple[int, dict[str, Any]]],
    default_integration: Integration | None,
    actor: User | None = None,
    request: HttpRequest | None = None,
    row_name: str = "line {}",
) -> ExistingImportOutcome:
    """Rows are (line, {column: value}), as in the CSV; `integration` may be a name or an
    Integration; `row_name` names a row's line in messages. One bad row in the first pass and
    nothing is done; after it each row is verified and stored whole, or reported, on its own."""
    outcome = ExistingImportOutcome()
    clients = _check(rows, default_integration, outcome, row_name)
    if outcome.errors:
        _audit_rejected(outcome, actor=actor, request=request, row_name=row_name)
        return outcome
    outcome.checked = True
    for client in clients:
        try:
            tenant = existing_client_verify_and_store(client, actor=actor, request=request)
        except RowRefused as refused:
            outcome.errors.append(RowError(client.line, ((refused.column, str(refused)),)))
        else:
            outcome.created[client.line] = tenant
    audit_record(
        action="tenant.import_existing",
        actor=actor,
        outcome=AuditEvent.Outcome.FAILURE if outcome.errors else AuditEvent.Outcome.SUCCESS,
        message=f"Imported {len(outcome.created)} verified client(s)"
        + (f"; {len(outcome.errors)} row(s) refused" if outcome.errors else ""),
        request=request,
    )
    return outcome


# --- first pass: no DocuSign call -----------------------------------------------------------


def _check(
    rows: list[tuple[int, dict[str, Any]]],
    default_integration: Integration | None,
    outcome: ExistingImportOutcome,
    row_name: str,
) -> list[ExistingClient]:
    integrations = {i.name.lower(): i for i in Integration.objects.all()}
    taken_accounts = set(TenantAccount.objects.values_list("account_id", flat=True))
    seen_slugs = FirstSeen("slug", row_name)
    seen_accounts = FirstSeen("account_id", row_name)
    clients = []
    for line, values in rows:
        problems: list[tuple[str, str]] = []
        named = values.get("integration") or None
        integration = named if isinstance(named, Integration) else default_integration
        if isinstance(named, str):
            integration = integrations.get(named.lower())
            if integration is None:
                problems.append(("integration", f"no integration is named '{named[:60]}'"))
        elif integration is None:
            problems.append(("integration", "name the integration that issued this client's grant"))
        grant_mode = str(values.get("grant_mode", "")).lower()
        if grant_mode not in Tenant.GrantMode.values:
            problems.append(("grant_mode", "use acg (refresh token), jwt or org_jwt (user id)"))
            grant_mode = Tenant.GrantMode.AUTHORIZATION_CODE
        tenant = Tenant(
            name=values.get("name", ""),
            slug=values.get("slug", ""),
            admin_email=values.get("admin_email", ""),
            grant_mode=grant_mode,
            integration=integration,
        )
        problems.extend(model_problems(tenant, exclude=["integration"]))
        refresh_token = values.get("refresh_token", "")
        user_id = values.get("user_id", "").lower()
        if grant_mode == Tenant.GrantMode.AUTHORIZATION_CODE:
            if not refresh_token:
                problems.append(("refresh_token", "an acg row needs the refresh token you hold"))
            elif integration is not None and not integration.secret_key:
                problems.append(
                    (
                        "integration",
                        f"'{integration.name}' has no secret key, which a refresh needs",
                    )
                )
        else:
            if not USER_ID_RE.match(user_id):
                problems.append(
                    ("user_id", "a JWT row needs the DocuSign API user id (a GUID) to impersonate")
                )
            if integration is not None and not integration.rsa_private_key:
                problems.append(("integration", f"'{integration.name}' has no RSA key for JWT"))
        account_id = values.get("account_id", "")
        if account_id and not _ACCOUNT_ID.match(account_id):
            problems.append(("account_id", "a DocuSign account id (GUID) or empty"))
        elif account_id and account_id in taken_accounts:
            problems.append(("account_id", f"{account_id} is already linked to a tenant"))
        else:
            problems.extend(seen_accounts.check(account_id, line))
        problems.extend(seen_slugs.check(tenant.slug, line))
        if problems:
            outcome.errors.append(RowError(line, tuple(problems)))
        else:
            clients.append(ExistingClient(line, tenant, account_id, refresh_token, user_id))
    return clients


def _audit_rejected(
    outcome: ExistingImportOutcome,
    *,
    actor: User | None,
    request: HttpRequest | None,
    row_name: str = "line {}",
) -> None:
    first = outcome.errors[0]
    audit_record(
        action="tenant.import_existing",
        actor=actor,
        outcome=AuditEvent.Outcome.FAILURE,
        message=f"Rejected: {len(outcome.errors)} problem(s), nothing imported; first: "
        f"{row_name.format(first.line)}: {first.reason}"[:500],
        request=request,
    )
