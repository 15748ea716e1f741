"""OAuth for Connect on the partner's own account (`/connect/oauth`, API.md 2.3, 2.4).

Integrator-managed configurations with `includeOAuth` make DocuSign use the partner account's
OAuth-for-Connect settings, so they live on that account, managed with a JWT token for
`integration.partner_user_id`. The settings are saved first (so nothing typed is lost), then
DocuSign is called outside the transaction and the result written after.
"""

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from common.models import AuditEvent
from common.services import audit_record
from connect.models import PartnerConnectOAuth
from docusign_api import (
    ConnectAPI,
    ConnectOAuthConfig,
    DocuSignError,
    DocuSignNotFound,
    base_uri_host_allowed,
)
from tenants.docusign import docusign_client_for
from tenants.models import Integration

JWT_SCOPES = ("signature", "impersonation")


class PartnerOAuthError(Exception):
    """Something staff must fix (integration settings, DocuSign's refusal); safe to show."""


@transaction.atomic
def partner_oauth_store(
    *,
    integration: Integration,
    authorization_server_url: str,
    client_id: str,
    client_secret: str,
    scope: str,
    custom_parameters: dict[str, str],
    actor: User | None,
    request: HttpRequest | None = None,
) -> PartnerConnectOAuth:
    """Save the settings; an empty `client_secret` keeps the stored one (write-only field)."""
    row, _ = PartnerConnectOAuth.objects.select_for_update().get_or_create(
        integration=integration,
        defaults={"authorization_server_url": authorization_server_url, "client_id": client_id},
    )
    row.authorization_server_url = authorization_server_url
    row.client_id = client_id
    if client_secret:
        row.client_secret = client_secret
    row.scope = scope
    row.custom_parameters = dict(custom_parameters)
    row.save()
    audit_record(
        action="connect.partner_oauth.save",
        actor=actor,
        target=integration,
        request=request,
        after={
            "authorization_server_url": authorization_server_url,
            "client_id": client_id,
            "scope": scope,
            "client_secret_changed": bool(client_secret),
        },
    )
    return row


def _partner_api(row: PartnerConnectOAuth) -> ConnectAPI:
    """A Connect API on the partner account, with a JWT token for the partner admin. The base URI
    comes from userinfo once and is cached on the row."""
    integration = row.integration
    if not (integration.partner_account_id and integration.partner_user_id):
        raise PartnerOAuthError(
            "Set the partner account id and partner user id on the integration first."
        )
    if not integration.rsa_private_key:
        raise PartnerOAuthError("The integration has no RSA private key for JWT.")
    client = docusign_client_for(integration)
    token = client.oauth.jwt_user_token(
        client_id=integration.integration_key,
        user_id=integration.partner_user_id,
        private_key_pem=integration.rsa_private_key,
        scopes=JWT_SCOPES,
    )
    base_uri = row.partner_base_uri
    if not base_uri:
        info = client.oauth.userinfo(token.access_token)
        account = next(
            (a for a in info.accounts if a.account_id == integration.partner_account_id), None
        )
        if account is None:
            raise PartnerOAuthError(
                "The partner user is not a member of the partner account "
                f"{integration.partner_account_id}."
            )
        if not base_uri_host_allowed(account.base_uri, integration.allowed_base_uri_hosts):
            raise PartnerOAuthError(f"DocuSign named an unexpected base URI: {account.base_uri}")
        base_uri = account.base_uri
        PartnerConnectOAuth.objects.filter(pk=row.pk).update(partner_base_uri=base_uri)
        row.partner_base_uri = base_uri
    return client.connect(
        base_uri=base_uri,
        account_id=integration.partner_account_id,
        access_token=token.access_token,
    )


def _result(
    row: PartnerConnectOAuth, *, state: str, message: str, actor: User | None, action: str
) -> None:
    PartnerConnectOAuth.objects.filter(pk=row.pk).update(
        state=state, last_result=message[:500], last_checked_at=timezone.now()
    )
    row.refresh_from_db()
    failed = state == PartnerConnectOAuth.State.FAILED
    audit_record(
        action=action,
        actor=actor,
        actor_label="connect",
        target=row.integration,
        outcome=AuditEvent.Outcome.FAILURE if failed else AuditEvent.Outcome.SUCCESS,
        message=message,
    )


def _failed(row: PartnerConnectOAuth, exc: Exception, *, actor: User | None, action: str) -> None:
    _result(
        row,
        state=PartnerConnectOAuth.State.FAILED,
        message=_message(exc),
        actor=actor,
        action=action,
    )


def _message(exc: Exception) -> str:
    if isinstance(exc, DocuSignError):
        code = f"{exc.error_code}: " if exc.error_code else ""
        return f"DocuSign refused ({exc.status}): {code}{exc.message}"
    return str(exc)


def partner_oauth_push(*, row: PartnerConnectOAuth, actor: User | None) -> PartnerConnectOAuth:
    """Create or update the configuration on DocuSign (which fetches a token from the server at
    once; a bad configuration fails here, API.md 2.3)."""
    if not row.client_secret:
        _result(
            row,
            state=PartnerConnectOAuth.State.FAILED,
            actor=actor,
            action="connect.partner_oauth.push",
            message="Enter the client secret before pushing.",
        )
        return row
    config = ConnectOAuthConfig(
        authorization_server_url=row.authorization_server_url,
        client_id=row.client_id,
        client_secret=row.client_secret,
        scope=row.scope,
        custom_parameters=dict(row.custom_parameters),
    )
    try:
        api = _partner_api(row)
        try:
            api.oauth_get()
            exists = True
        except DocuSignNotFound:
            exists = False
        (api.oauth_update if exists else api.oauth_create)(config)
    except (DocuSignError, PartnerOAuthError, ValueError) as exc:
        _failed(row, exc, actor=actor, action="connect.partner_oauth.push")
        return row
    _result(
        row,
        state=PartnerConnectOAuth.State.ACTIVE,
        actor=actor,
        action="connect.partner_oauth.push",
        message="Updated on DocuSign." if exists else "Created on DocuSign.",
    )
    return row


def partner_oauth_check(*, row: PartnerConnectOAuth, actor: User | None) -> dict | None:
    """Read the configuration DocuSign holds; returns its non-secret fields (or None)."""
    try:
        current = _partner_api(row).oauth_get()
    except DocuSignNotFound:
        _result(
            row,
            state=PartnerConnectOAuth.State.ABSENT,
            actor=actor,
            action="connect.partner_oauth.check",
            message="DocuSign holds no OAuth for Connect configuration.",
        )
        return None
    except (DocuSignError, PartnerOAuthError, ValueError) as exc:
        _failed(row, exc, actor=actor, action="connect.partner_oauth.check")
        return None
    differs = (
        current.managed_fields()
        != ConnectOAuthConfig(
            authorization_server_url=row.authorization_server_url,
            client_id=row.client_id,
            scope=row.scope,
            custom_parameters=dict(row.custom_parameters),
        ).managed_fields()
    )
    _result(
        row,
        state=PartnerConnectOAuth.State.ACTIVE,
        actor=actor,
        action="connect.partner_oauth.check",
        message="Present on DocuSign"
        + (", but it differs from these settings." if differs else " and matches these settings."),
    )
    return current.managed_fields()


def partner_oauth_delete(*, row: PartnerConnectOAuth, actor: User | None) -> PartnerConnectOAuth:
    try:
        _partner_api(row).oauth_delete()
    except DocuSignNotFound:
        pass
    except (DocuSignError, PartnerOAuthError, ValueError) as exc:
        _failed(row, exc, actor=actor, action="connect.partner_oauth.delete")
        return row
    _result(
        row,
        state=PartnerConnectOAuth.State.ABSENT,
        actor=actor,
        action="connect.partner_oauth.delete",
        message="Deleted from DocuSign.",
    )
    return row
