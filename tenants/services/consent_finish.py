"""The end of a consent: the chosen account checked, impersonation proved for JWT tenants, and the
link, tokens and who granted it stored in one transaction."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from common.services import audit_record
from docusign_api import DocuSignError, DocuSignUnavailable, UserInfo
from tenants.docusign import docusign_client_for
from tenants.models import ConsentAttempt, Invite, Tenant, TenantAccount, TenantToken
from tenants.services.consent_errors import ConsentError, docusign_error_label
from tenants.services.status import tenant_status_set
from tenants.services.system_user import SystemUserError, system_user_verify

ACTOR = "client-admin"
# DocuSign documents refresh tokens as lasting "typically 30 days" and sends no lifetime field
# (API.md 1.4); with `extended` each refresh renews it.
REFRESH_TOKEN_LIFETIME = timedelta(days=30)


@dataclass(frozen=True)
class ConsentResult:
    tenant: Tenant
    attempt_id: int
    choose_account: bool = False
    account_id: str = ""
    account_name: str = ""
    jwt_error: str = ""


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: datetime
    refresh_expires_at: datetime | None


@dataclass(frozen=True)
class Grant:
    """Who granted the consent and at which level; `user` is the one who signed in (empty when
    DocuSign did not say, as an organization grant may not)."""

    level: str
    user: dict


def reconsent_account_id(attempt: ConsentAttempt) -> str:
    if attempt.invite.kind != Invite.Kind.RECONSENT:
        return ""
    account = TenantAccount.objects.filter(tenant=attempt.tenant).first()
    return account.account_id if account else ""


def code_exchange(*, attempt: ConsentAttempt, code: str) -> tuple[Tokens, UserInfo]:
    """The authorization code exchanged (PKCE) and the signed-in user read; ConsentError if not."""
    tenant = attempt.tenant
    integration = tenant.integration
    client = docusign_client_for(integration)
    try:
        token_set = client.oauth.exchange_code(
            client_id=integration.integration_key,
            client_secret=integration.secret_key,
            code=code,
            code_verifier=attempt.code_verifier,
            redirect_uri=integration.redirect_uri,
        )
    except DocuSignUnavailable as exc:
        raise ConsentError(
            "docusign_unavailable", tenant=tenant, detail=docusign_error_label(exc)
        ) from None
    except DocuSignError as exc:
        reason = (
            "token_error"
            if exc.error_code in ("invalid_client", "unauthorized_client")
            or (exc.message in ("invalid_client", "unauthorized_client"))
            else "code_rejected"
        )
        raise ConsentError(reason, tenant=tenant, detail=docusign_error_label(exc)) from None
    tokens = Tokens(
        access_token=token_set.access_token,
        refresh_token=token_set.refresh_token or "",
        expires_at=token_set.expires_at,
        refresh_expires_at=token_set.refresh_expires_at
        or (timezone.now() + REFRESH_TOKEN_LIFETIME if token_set.refresh_token else None),
    )
    try:
        info = client.oauth.userinfo(tokens.access_token)
    except DocuSignError as exc:
        raise ConsentError(
            "userinfo_failed", tenant=tenant, detail=docusign_error_label(exc)
        ) from None
    return tokens, info


def consent_finish(
    *,
    attempt: ConsentAttempt,
    choice: dict,
    grant: Grant,
    tokens: Tokens,
    request: HttpRequest | None,
) -> ConsentResult:
    tenant = attempt.tenant
    if not choice["allowed"]:
        raise ConsentError("base_uri_not_allowed", tenant=tenant)
    expected = reconsent_account_id(attempt)
    if expected and choice["account_id"] != expected:
        raise ConsentError("other_account_chosen", tenant=tenant)
    if (
        TenantAccount.objects.filter(account_id=choice["account_id"])
        .exclude(tenant=tenant)
        .exists()
    ):
        raise ConsentError("account_taken", tenant=tenant)

    user = grant.user
    jwt_error = ""
    if tenant.uses_jwt:
        # Prove impersonation works now, not at the first sync; the JWT access token (no refresh
        # token) replaces the ACG pair. A named system user must pass, or nothing is stored.
        named = attempt.system_user_id or ""
        target = named or user.get("sub", "")
        if not target:
            raise ConsentError("system_user_required", tenant=tenant)
        try:
            verified = system_user_verify(
                integration=tenant.integration,
                user_id=target,
                account_id=choice["account_id"] if named else None,
            )
        except SystemUserError as exc:
            if named or grant.level == TenantAccount.ConsentLevel.ORGANIZATION:
                code = exc.code if exc.code in ConsentError.TEXTS else "jwt_failed"
                raise ConsentError(code, tenant=tenant, detail=exc.detail) from None
            jwt_error = exc.message
            tokens = Tokens("", "", timezone.now(), None)
        else:
            user = verified.user
            token_set = verified.token_set
            tokens = Tokens(token_set.access_token, "", token_set.expires_at, None)

    try:
        _consent_store(
            attempt=attempt,
            choice=choice,
            user=user,
            grant=grant,
            tokens=tokens,
            jwt_error=jwt_error,
            request=request,
        )
    except IntegrityError:
        # Another tenant linked the same account between our check and our write.
        raise ConsentError("account_taken", tenant=tenant) from None
    return ConsentResult(
        tenant=tenant,
        attempt_id=attempt.pk,
        account_id=choice["account_id"],
        account_name=choice["account_name"],
        jwt_error=jwt_error,
    )


@transaction.atomic
def _consent_store(
    *,
    attempt: ConsentAttempt,
    choice: dict,
    user: dict,
    grant: Grant,
    tokens: Tokens,
    jwt_error: str,
    request: HttpRequest | None,
) -> None:
    tenant = Tenant.objects.select_for_update().get(pk=attempt.tenant_id)
    now = timezone.now()
    granted_by = grant.user
    TenantAccount.objects.update_or_create(
        tenant=tenant,
        defaults={
            "account_id": choice["account_id"],
            "account_name": choice["account_name"][:200],
            "base_uri": choice["base_uri"],
            "user_id": user["sub"],
            "user_email": (user.get("email") or "")[:254],
            "user_name": (user.get("name") or "")[:200],
            "consent_level": grant.level,
            "granted_by_user_id": granted_by.get("sub", ""),
            "granted_by_email": (granted_by.get("email") or "")[:254],
            "granted_by_name": (granted_by.get("name") or "")[:200],
            "scopes": attempt.scopes,
            "consented_at": now,
            "jwt_verified_at": now if tenant.uses_jwt and not jwt_error else None,
            "jwt_last_error": jwt_error[:300],
        },
    )
    token_fields = {
        "access_token": tokens.access_token,
        "access_expires_at": tokens.expires_at if tokens.access_token else None,
        "refresh_token": tokens.refresh_token,
        "refresh_expires_at": tokens.refresh_expires_at,
        "refreshed_at": now,
        "failure_count": 0,
        "last_error_code": "",
        "last_error_at": None,
        "lapse_reminder_sent_at": None,
    }
    TenantToken.objects.update_or_create(
        tenant=tenant,
        # A new grant replaces the tokens: waiters in the token service compare generations.
        defaults={**token_fields, "generation": F("generation") + 1},
        create_defaults={**token_fields, "generation": 1},
    )
    ConsentAttempt.objects.filter(pk=attempt.pk).update(
        outcome=ConsentAttempt.Outcome.COMPLETED,
        pending_access_token="",
        pending_refresh_token="",
        pending_access_expires_at=None,
    )
    Invite.objects.filter(pk=attempt.invite_id).update(completed_at=now)
    account_label = f"{choice['account_name']} ({choice['account_id']})"
    granter = granted_by.get("email") or granted_by.get("sub") or "an organization administrator"
    impersonates = ""
    if tenant.uses_jwt and user["sub"] != granted_by.get("sub"):
        impersonates = f"; impersonates {user.get('email') or user['sub']}"
    audit_record(
        action="consent.complete",
        actor_label=ACTOR,
        target=tenant,
        message=f"{granter} linked {account_label} ({grant.level} consent){impersonates}"
        + (f"; JWT check failed: {jwt_error}" if jwt_error else ""),
        after={
            "account_id": choice["account_id"],
            "base_uri": choice["base_uri"],
            "user_id": user["sub"],
            "granted_by": granted_by.get("sub", ""),
            "consent_level": grant.level,
            "scopes": attempt.scopes,
        },
        request=request,
    )
    if jwt_error:
        tenant_status_set(
            tenant=tenant,
            to_status=Tenant.Status.ERROR,
            reason=f"Consent recorded, but JWT impersonation failed: {jwt_error}"[:300],
            actor_label=ACTOR,
        )
    elif tenant.status not in (Tenant.Status.ACTIVE, Tenant.Status.SUSPENDED):
        verb = "Re-consent" if attempt.invite.kind == Invite.Kind.RECONSENT else "Consent"
        tenant_status_set(
            tenant=tenant,
            to_status=Tenant.Status.CONSENTED,
            reason=f"{verb} given for account {account_label}",
            actor_label=ACTOR,
        )
