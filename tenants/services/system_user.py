"""The DocuSign user a JWT tenant impersonates: resolved by its API user id and verified with a
JWT grant before the portal relies on it.

A client admin names it on the consent page, or staff on the tenant page; either way the portal
proves impersonation works (a JWT grant for that user, then userinfo to learn who it is and that it
belongs to the linked account) before anything is stored. A change re-verifies before switching.
"""

import re
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from common.services import audit_record
from docusign_api import DocuSignError, DocuSignUnavailable, TokenSet, UserInfo
from tenants.docusign import docusign_client_for
from tenants.models import Integration, Tenant, TenantAccount, TenantToken
from tenants.services.consent_errors import docusign_error_label

JWT_SCOPES = ("signature", "impersonation")
USER_ID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)

SYSTEM_USER_MESSAGES = {
    "bad_user_id": "A DocuSign API user id is a GUID such as 4799e5e9-1559-4915-9862-cf4713bbcacc: "
    "copy it from DocuSign Admin → Users → the user's profile.",
    "system_user_not_found": "DocuSign has no user with this id in this environment. Copy the "
    "API user id from DocuSign Admin → Users (not the account id).",
    "system_user_no_consent": "DocuSign refused impersonation of this user: the consent does not "
    "cover them. For organization consent the user's email must be in one of the organization's "
    "claimed domains; for individual consent that user must consent themselves (send them an "
    "invite).",
    "system_user_not_member": "This user does not belong to the tenant's linked DocuSign "
    "account. Name a user of that account.",
    "jwt_failed": "DocuSign refused the JWT grant for this user.",
    "bad_rsa_key": "The integration's RSA private key is missing or not a usable PEM key: fix "
    "it on the integration page.",
    "docusign_unavailable": "DocuSign did not answer; nothing was changed. Try again in a few "
    "minutes.",
    "not_jwt": "Only JWT tenants impersonate a system user.",
    "no_account": "This tenant has no linked DocuSign account yet: it must consent first.",
}


class SystemUserError(Exception):
    """Impersonating the named user failed; `code` names the case, `message` what to do."""

    def __init__(self, code: str, detail: str = ""):
        self.code = code
        self.detail = detail[:300]
        super().__init__(code)

    @property
    def message(self) -> str:
        text = SYSTEM_USER_MESSAGES[self.code]
        return f"{text} ({self.detail})" if self.detail else text


@dataclass(frozen=True)
class VerifiedUser:
    token_set: TokenSet
    info: UserInfo

    @property
    def user(self) -> dict:
        return {"sub": self.info.sub, "name": self.info.name, "email": self.info.email}


def system_user_verify(
    *, integration: Integration, user_id: str, account_id: str | None = None
) -> VerifiedUser:
    """A JWT grant for `user_id`, then userinfo; with `account_id`, the user must belong to it.
    Calls DocuSign: never inside a transaction."""
    if not USER_ID_RE.match(user_id or ""):
        raise SystemUserError("bad_user_id")
    client = docusign_client_for(integration)
    try:
        token_set = client.oauth.jwt_user_token(
            client_id=integration.integration_key,
            user_id=user_id,
            private_key_pem=integration.rsa_private_key,
            scopes=JWT_SCOPES,
        )
        info = client.oauth.userinfo(token_set.access_token)
    except DocuSignUnavailable as exc:
        raise SystemUserError("docusign_unavailable", docusign_error_label(exc)) from None
    except DocuSignError as exc:
        text = f"{exc.error_code} {exc.message}"
        if "user_not_found" in text:
            raise SystemUserError("system_user_not_found") from None
        if "consent_required" in text:
            raise SystemUserError("system_user_no_consent") from None
        raise SystemUserError("jwt_failed", docusign_error_label(exc)) from None
    except ValueError:
        raise SystemUserError("bad_rsa_key") from None
    if account_id and not any(a.account_id == account_id for a in info.accounts):
        raise SystemUserError("system_user_not_member")
    return VerifiedUser(token_set=token_set, info=info)


def tenant_system_user_set(
    *, tenant: Tenant, user_id: str, actor: User | None = None, request: HttpRequest | None = None
) -> TenantAccount:
    """Staff name the user a JWT tenant impersonates. Verified first; on any failure nothing
    changes and SystemUserError says what to do."""
    if not tenant.uses_jwt:
        raise SystemUserError("not_jwt")
    account = TenantAccount.objects.filter(tenant=tenant).first()
    if account is None:
        raise SystemUserError("no_account")
    verified = system_user_verify(
        integration=tenant.integration,
        user_id=user_id.strip().lower(),
        account_id=account.account_id,
    )
    return _system_user_store(tenant=tenant, verified=verified, actor=actor, request=request)


@transaction.atomic
def _system_user_store(
    *, tenant: Tenant, verified: VerifiedUser, actor: User | None, request: HttpRequest | None
) -> TenantAccount:
    account = TenantAccount.objects.select_for_update().get(tenant=tenant)
    before = {"user_id": account.user_id, "user_email": account.user_email}
    now = timezone.now()
    info = verified.info
    account.user_id = info.sub
    account.user_email = (info.email or "")[:254]
    account.user_name = (info.name or "")[:200]
    account.jwt_verified_at = now
    account.jwt_last_error = ""
    account.save(
        update_fields=[
            "user_id", "user_email", "user_name", "jwt_verified_at", "jwt_last_error", "updated_at"
        ]
    )  # fmt: skip
    token = verified.token_set
    fields = {
        "access_token": token.access_token,
        "access_expires_at": token.expires_at,
        "refresh_token": "",
        "refresh_expires_at": None,
        "refreshed_at": now,
        "failure_count": 0,
        "last_error_code": "",
        "last_error_at": None,
    }
    # The new user's token replaces the old one; waiters in the token service compare generations.
    TenantToken.objects.update_or_create(
        tenant=tenant,
        defaults={**fields, "generation": F("generation") + 1},
        create_defaults={**fields, "generation": 1},
    )
    audit_record(
        action="tenant.system_user.set",
        actor=actor,
        target=tenant,
        request=request,
        before=before,
        after={"user_id": account.user_id, "user_email": account.user_email},
        message=f"Now impersonates {account.user_email or account.user_id} (verified by JWT)",
    )
    return account
