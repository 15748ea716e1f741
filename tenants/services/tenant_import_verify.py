"""The second pass of bringing existing clients in: one row verified with DocuSign (a refresh or a
JWT grant, userinfo, the base_uri allow-list), then stored whole (tenant, account link and tokens
in one transaction) or refused with the column at fault and what to do."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from common.services import audit_record
from docusign_api import (
    Account,
    DocuSignError,
    DocuSignUnavailable,
    UserInfo,
    base_uri_host_allowed,
)
from tenants.docusign import docusign_client_for
from tenants.models import Tenant, TenantAccount, TenantToken
from tenants.services.status import tenant_status_set
from tenants.services.system_user import SystemUserError, system_user_verify

REFRESH_TOKEN_LIFETIME = timedelta(days=30)


@dataclass
class ExistingClient:
    line: int
    tenant: Tenant  # unsaved
    account_id: str
    refresh_token: str = field(repr=False)
    user_id: str


class RowRefused(Exception):
    """The row was not imported; `column` is at fault ("" when none is), the message says what
    to do."""

    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column


def existing_client_verify_and_store(
    client: ExistingClient, *, actor: User | None, request: HttpRequest | None
) -> Tenant:
    """Calls DocuSign first, then stores in one transaction; raises RowRefused."""
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
            raise RowRefused(_SYSTEM_USER_COLUMN.get(exc.code, "user_id"), exc.message) from None
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
            raise RowRefused(
                "",
                "DocuSign did not answer; nothing was stored for this row. Import it again later.",
            ) from None
        except DocuSignError as exc:
            raise RowRefused("refresh_token", _refresh_refusal(exc)) from None
        access, refresh = token.access_token, token.refresh_token or client.refresh_token
        expires_at = token.expires_at
        refresh_expires_at = token.refresh_expires_at or timezone.now() + REFRESH_TOKEN_LIFETIME
    account = _account_choose(info, client)
    if not base_uri_host_allowed(account.base_uri, integration.allowed_base_uri_hosts):
        raise RowRefused(
            "account_id",
            f"DocuSign reports the base URI {account.base_uri} for account "
            f"{account.account_id}, which is not an allowed host for this environment "
            "(DOCUSIGN_*_BASE_URI_HOSTS), so no token was stored or sent there.",
        )
    try:
        return _store(
            client, info=info, account=account,
            tokens=(access, refresh, expires_at, refresh_expires_at),
            actor=actor, request=request,
        )  # fmt: skip
    except IntegrityError:
        raise RowRefused(
            "slug", "this slug or account_id was registered meanwhile; nothing was stored."
        ) from None


# Who is at fault when impersonation fails: the row's user id, unless the integration or DocuSign.
_SYSTEM_USER_COLUMN = {"bad_rsa_key": "integration", "docusign_unavailable": ""}


def _refresh_refusal(exc: DocuSignError) -> str:
    text = f"{exc.error_code} {exc.message}"
    if "unauthorized_client" in text or "invalid_client" in text:
        return (
            "DocuSign says it belongs to another integration key (or the "
            "integration's secret is wrong). Import it under the integration that issued it."
        )
    return (
        "DocuSign refused it (expired, revoked or already used). Get a fresh one, "
        "or register the tenant and send an invite instead."
    )


def _account_choose(info: UserInfo, client: ExistingClient) -> Account:
    if not info.accounts:
        raise RowRefused("", "The DocuSign user belongs to no account; nothing was stored.")
    if client.account_id:
        match = next((a for a in info.accounts if a.account_id == client.account_id), None)
        if match is None:
            raise RowRefused(
                "account_id",
                f"the DocuSign user {info.email or info.sub} has no access to "
                f"{client.account_id}; their accounts: "
                + ", ".join(a.account_id for a in info.accounts),
            )
        return match
    if len(info.accounts) > 1:
        raise RowRefused(
            "account_id",
            f"the DocuSign user belongs to {len(info.accounts)} accounts; put the one "
            "to link in account_id (" + ", ".join(a.account_id for a in info.accounts) + ").",
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
        raise RowRefused("account_id", f"{account.account_id} is already linked to a tenant")
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
