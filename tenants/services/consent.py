"""Consent: a client admin's trip to DocuSign and back, ending with a linked account and tokens.

`state` and the PKCE verifier stay server-side in ConsentAttempt (the state hashed, the verifier
encrypted), bound to the tenant, the invite and the browser session; the callback claims the
attempt atomically, so a double-submitted callback exchanges its code once. DocuSign is always
called outside any transaction; the results are written afterwards.
"""

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from common.models import AuditEvent
from common.services import audit_record
from docusign_api import (
    DocuSignError,
    DocuSignUnavailable,
    base_uri_host_allowed,
)
from tenants.docusign import docusign_client_for
from tenants.models import ConsentAttempt, Invite, Tenant, TenantAccount, TenantToken
from tenants.services.status import tenant_status_set

ACTOR = "client-admin"
# Our state is 43 characters; DocuSign hands it back unchanged. Longer is not ours.
STATE_MAX_LENGTH = 200
CODE_MAX_LENGTH = 4096
JWT_SCOPES = ("signature", "impersonation")
# DocuSign documents refresh tokens as lasting "typically 30 days" and sends no lifetime field
# (API.md 1.4); with `extended` each refresh renews it.
REFRESH_TOKEN_LIFETIME = timedelta(days=30)

SCOPE_EXPLANATIONS = {
    "signature": "Work with envelopes in your DocuSign account and set up the Connect "
    "notifications that tell {partner} when an envelope is sent, signed or declined.",
    "extended": "Keep this connection working over time, so you are not asked to sign in "
    "again every 30 days.",
    "impersonation": "Act on your behalf in the background (DocuSign's JWT grant), so "
    "{partner} can keep your configuration up to date while you are not signed in.",
}


class ConsentError(Exception):
    """A consent step failed. `code` names the case; `title`, `message` and `advice` say it to
    the client admin in plain words (the page escapes `detail`, which may come from DocuSign)."""

    TEXTS: dict[str, tuple[str, str, str]] = {
        "missing_state": (
            "This page was opened without its sign-in details",
            "The address is missing the information that ties it to your sign-in.",
            "Open the invitation link from your email again and click Continue to DocuSign.",
        ),
        "bad_state": (
            "This sign-in cannot be recognised",
            "The address does not carry a sign-in we started.",
            "Open the invitation link from your email again and start over.",
        ),
        "unknown_state": (
            "This sign-in cannot be recognised",
            "We did not start this sign-in, or it was already cleaned up.",
            "Open the invitation link from your email again and start over.",
        ),
        "session_mismatch": (
            "Please finish in the same browser",
            "We could not find the sign-in you started in this browser (cookies may be blocked, "
            "or the link was opened in another browser or window).",
            "Open the invitation link again in this browser, with cookies allowed, and click "
            "Continue to DocuSign.",
        ),
        "expired_state": (
            "This sign-in took too long",
            "For your security, a sign-in must be finished within a few minutes.",
            "Open the invitation link again and click Continue to DocuSign.",
        ),
        "reused_state": (
            "This sign-in was already used",
            "The response from DocuSign was received once already (perhaps the page was "
            "reloaded or submitted twice).",
            "If your account is not connected yet, open the invitation link again and start over.",
        ),
        "access_denied": (
            "You chose not to allow access",
            "DocuSign reports that access was declined, so nothing was connected.",
            "If that was a mistake, open the invitation link again and choose Allow access. "
            "If you have questions, contact {partner}.",
        ),
        "docusign_error": (
            "DocuSign could not complete the sign-in",
            "DocuSign reported an error, so nothing was connected.",
            "Open the invitation link again and retry. If it keeps failing, send {partner} the "
            "message below.",
        ),
        "missing_code": (
            "DocuSign did not send an authorisation",
            "The response from DocuSign is incomplete, so nothing was connected.",
            "Open the invitation link again and retry.",
        ),
        "code_rejected": (
            "DocuSign did not accept the authorisation",
            "The authorisation was refused by DocuSign (it may have expired or been used "
            "already), so nothing was connected.",
            "Open the invitation link again and retry; finish within two minutes of signing in.",
        ),
        "docusign_unavailable": (
            "DocuSign did not answer in time",
            "DocuSign could not be reached or answered with an error, so nothing was connected.",
            "Wait a few minutes, then open the invitation link again and retry.",
        ),
        "token_error": (
            "The connection could not be completed",
            "DocuSign refused to issue access for this integration, so nothing was connected.",
            "Contact {partner}: their DocuSign integration settings need attention.",
        ),
        "userinfo_failed": (
            "Your DocuSign account details could not be read",
            "DocuSign did not return your account details, so nothing was connected.",
            "Wait a few minutes, then open the invitation link again and retry.",
        ),
        "no_accounts": (
            "Your DocuSign login has no account",
            "The DocuSign user you signed in with does not belong to any DocuSign account.",
            "Sign in with the DocuSign user that administers your company's account.",
        ),
        "base_uri_not_allowed": (
            "This account cannot be connected",
            "DocuSign reported an account address outside DocuSign's known servers for this "
            "environment, so we did not send it any credentials.",
            "Contact {partner} and mention this message.",
        ),
        "wrong_account": (
            "A different DocuSign account was used",
            "This invitation is to reconnect the account already linked, but the DocuSign user "
            "you signed in with does not have access to it. Nothing was changed.",
            "Sign in to DocuSign with a user of the linked account, then open the invitation "
            "link again.",
        ),
        "other_account_chosen": (
            "Another account was chosen",
            "This invitation is to reconnect the account already linked, but a different "
            "account was chosen. Nothing was changed.",
            "Open the invitation link again and choose the account that is already linked.",
        ),
        "account_taken": (
            "This account is already connected",
            "This DocuSign account is already linked to another client of {partner}.",
            "Choose another account, or contact {partner}.",
        ),
        "integration_inactive": (
            "Connecting is paused",
            "{partner} has paused new connections for this DocuSign environment.",
            "Contact {partner}.",
        ),
        "invalid_choice": (
            "Choose one of your accounts",
            "The account chosen is not one of the accounts offered.",
            "Go back and choose an account from the list.",
        ),
    }

    def __init__(self, code: str, *, tenant: Tenant | None = None, detail: str = ""):
        self.code = code
        self.tenant = tenant
        self.detail = detail[:300]
        super().__init__(code)

    def _text(self, index: int) -> str:
        return self.TEXTS[self.code][index].format(partner=settings.PARTNER_NAME)

    @property
    def title(self) -> str:
        return self._text(0)

    @property
    def message(self) -> str:
        return self._text(1)

    @property
    def advice(self) -> str:
        return self._text(2)


@dataclass(frozen=True)
class ConsentResult:
    tenant: Tenant
    attempt_id: int
    choose_account: bool = False
    account_id: str = ""
    account_name: str = ""
    jwt_error: str = ""


@dataclass(frozen=True)
class _Tokens:
    access_token: str
    refresh_token: str
    expires_at: datetime
    refresh_expires_at: datetime | None


def session_hash(session_key: str) -> str:
    return hashlib.sha256(f"consent-session:{session_key}".encode()).hexdigest()


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def consent_scopes(*, tenant: Tenant) -> list[str]:
    scopes = ["signature", "extended"]
    if tenant.grant_mode == Tenant.GrantMode.JWT:
        scopes.append("impersonation")
    return scopes


def consent_scope_explanations(*, tenant: Tenant) -> list[tuple[str, str]]:
    return [
        (scope, SCOPE_EXPLANATIONS[scope].format(partner=settings.PARTNER_NAME))
        for scope in consent_scopes(tenant=tenant)
    ]


# --- start ---------------------------------------------------------------------------------


def consent_start(*, invite: Invite, session_key: str, request=None) -> str:
    """Record a new attempt for this browser session and return DocuSign's consent URL."""
    tenant = invite.tenant
    integration = tenant.integration
    if not integration.is_active:
        _fail_audit(ConsentError("integration_inactive", tenant=tenant), request=request)
        raise ConsentError("integration_inactive", tenant=tenant)
    client = docusign_client_for(integration)
    pkce = client.oauth.new_pkce()
    state = secrets.token_urlsafe(32)
    scopes = consent_scopes(tenant=tenant)
    now = timezone.now()
    attempt = ConsentAttempt.objects.create(
        state_hash=state_hash(state),
        tenant=tenant,
        invite=invite,
        session_key_hash=session_hash(session_key),
        code_verifier=pkce.verifier,
        scopes=" ".join(scopes),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.CONSENT_STATE_TTL_S),
    )
    audit_record(
        action="consent.start",
        actor_label=ACTOR,
        target=tenant,
        message=f"Sent to DocuSign for scopes '{attempt.scopes}' (attempt {attempt.pk})",
        request=request,
    )
    return client.oauth.authorization_url(
        client_id=integration.integration_key,
        redirect_uri=integration.redirect_uri,
        scopes=scopes,
        state=state,
        code_challenge=pkce.challenge,
    )


# --- callback ------------------------------------------------------------------------------


def consent_callback(
    *, params: Mapping[str, str], session_key: str | None, request=None
) -> ConsentResult:
    """Handle DocuSign's redirect. Raises ConsentError (after an audit row) on any bad input;
    nothing is stored for the tenant unless consent completes."""
    attempt = None
    try:
        attempt = _attempt_claim(params=params, session_key=session_key)
        return _callback_claimed(attempt=attempt, params=params, request=request)
    except ConsentError as error:
        if isinstance(error, _AttemptError):
            attempt = error.attempt
        if attempt is not None:
            _attempt_fail(attempt=attempt, code=error.code)
        _fail_audit(error, request=request, attempt=attempt)
        raise


def _attempt_claim(*, params: Mapping[str, str], session_key: str | None) -> ConsentAttempt:
    state = params.get("state", "")
    error = params.get("error", "")
    if error and not state:
        raise ConsentError(
            "access_denied" if error == "access_denied" else "docusign_error",
            detail=_docusign_detail(params),
        )
    if not state:
        raise ConsentError("missing_state")
    if len(state) > STATE_MAX_LENGTH:
        raise ConsentError("bad_state")
    attempt = (
        ConsentAttempt.objects.select_related("tenant", "tenant__integration", "invite")
        .filter(state_hash=state_hash(state))
        .first()
    )
    if attempt is None:
        raise ConsentError("unknown_state")
    # Checked before claiming: a state replayed from another browser must not burn the real one.
    if not session_key or not hmac.compare_digest(
        session_hash(session_key), attempt.session_key_hash
    ):
        raise ConsentError("session_mismatch", tenant=attempt.tenant)
    now = timezone.now()
    claimed = ConsentAttempt.objects.filter(pk=attempt.pk, claimed_at__isnull=True).update(
        claimed_at=now
    )
    if not claimed:
        raise ConsentError("reused_state", tenant=attempt.tenant)
    attempt.claimed_at = now
    if attempt.expires_at <= now:
        # Claimed anyway, so the error is recorded on the attempt itself.
        raise _AttemptError("expired_state", attempt)
    return attempt


class _AttemptError(ConsentError):
    """A ConsentError raised once the attempt is known and claimed."""

    def __init__(self, code: str, attempt: ConsentAttempt, detail: str = ""):
        super().__init__(code, tenant=attempt.tenant, detail=detail)
        self.attempt = attempt


def _callback_claimed(*, attempt: ConsentAttempt, params: Mapping[str, str], request):
    tenant = attempt.tenant
    integration = tenant.integration
    error = params.get("error", "")
    if error:
        code = "access_denied" if error == "access_denied" else "docusign_error"
        raise ConsentError(code, tenant=tenant, detail=_docusign_detail(params))
    code = params.get("code", "")
    if not code or len(code) > CODE_MAX_LENGTH:
        raise ConsentError("missing_code", tenant=tenant)

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
            "docusign_unavailable", tenant=tenant, detail=_error_label(exc)
        ) from None
    except DocuSignError as exc:
        reason = (
            "token_error"
            if exc.error_code in ("invalid_client", "unauthorized_client")
            or (exc.message in ("invalid_client", "unauthorized_client"))
            else "code_rejected"
        )
        raise ConsentError(reason, tenant=tenant, detail=_error_label(exc)) from None
    tokens = _Tokens(
        access_token=token_set.access_token,
        refresh_token=token_set.refresh_token or "",
        expires_at=token_set.expires_at,
        refresh_expires_at=token_set.refresh_expires_at
        or (timezone.now() + REFRESH_TOKEN_LIFETIME if token_set.refresh_token else None),
    )
    try:
        info = client.oauth.userinfo(tokens.access_token)
    except DocuSignError as exc:
        raise ConsentError("userinfo_failed", tenant=tenant, detail=_error_label(exc)) from None

    if not info.accounts:
        raise ConsentError("no_accounts", tenant=tenant)
    allowed_hosts = integration.allowed_base_uri_hosts
    choices = [
        {
            "account_id": a.account_id,
            "account_name": a.account_name,
            "base_uri": a.base_uri,
            "is_default": a.is_default,
            "allowed": base_uri_host_allowed(a.base_uri, allowed_hosts),
        }
        for a in info.accounts
    ]
    user = {"sub": info.sub, "name": info.name, "email": info.email}
    expected = _reconsent_account_id(attempt)
    if expected:
        match = next((c for c in choices if c["account_id"] == expected), None)
        if match is None:
            raise ConsentError("wrong_account", tenant=tenant)
        # Re-consent reconnects the linked account; there is nothing to choose.
        return _consent_finish(
            attempt=attempt, choice=match, user=user, tokens=tokens, request=request
        )
    if not any(c["allowed"] for c in choices):
        raise ConsentError("base_uri_not_allowed", tenant=tenant)
    if len(choices) == 1:
        return _consent_finish(
            attempt=attempt, choice=choices[0], user=user, tokens=tokens, request=request
        )
    # Several accounts: the admin chooses (never silently the default). The tokens wait,
    # encrypted, on the attempt; the choice gets a fresh TTL of its own.
    now = timezone.now()
    ConsentAttempt.objects.filter(pk=attempt.pk).update(
        outcome=ConsentAttempt.Outcome.CHOOSING_ACCOUNT,
        account_choices=choices,
        userinfo=user,
        expires_at=now + timedelta(seconds=settings.CONSENT_STATE_TTL_S),
    )
    # update() skips field preparation, so the encrypted fields are saved through the model.
    attempt.pending_access_token = tokens.access_token
    attempt.pending_refresh_token = tokens.refresh_token
    attempt.pending_access_expires_at = tokens.expires_at
    attempt.save(
        update_fields=["pending_access_token", "pending_refresh_token", "pending_access_expires_at"]
    )
    audit_record(
        action="consent.callback",
        actor_label=ACTOR,
        target=tenant,
        message=f"{len(choices)} accounts offered to choose from (attempt {attempt.pk})",
        request=request,
    )
    return ConsentResult(tenant=tenant, attempt_id=attempt.pk, choose_account=True)


def consent_account_choose(
    *, attempt: ConsentAttempt, session_key: str | None, account_id: str, request=None
) -> ConsentResult:
    """The admin picked one of the offered accounts. Single use, like the callback."""
    tenant = attempt.tenant
    try:
        if not session_key or not hmac.compare_digest(
            session_hash(session_key), attempt.session_key_hash
        ):
            raise ConsentError("session_mismatch", tenant=tenant)
        choice = next(
            (c for c in attempt.account_choices if c["account_id"] == account_id and c["allowed"]),
            None,
        )
        if choice is None:
            # Not consumed: the admin can go back and pick a listed account.
            error = ConsentError("invalid_choice", tenant=tenant)
            _fail_audit(error, request=request, attempt=attempt)
            raise error
        now = timezone.now()
        taken = ConsentAttempt.objects.filter(
            pk=attempt.pk, outcome=ConsentAttempt.Outcome.CHOOSING_ACCOUNT
        ).update(outcome=ConsentAttempt.Outcome.PENDING)
        if not taken:
            raise ConsentError("reused_state", tenant=tenant)
        if attempt.expires_at <= now:
            raise ConsentError("expired_state", tenant=tenant)
        tokens = _Tokens(
            access_token=attempt.pending_access_token,
            refresh_token=attempt.pending_refresh_token,
            expires_at=attempt.pending_access_expires_at or now,
            refresh_expires_at=now + REFRESH_TOKEN_LIFETIME
            if attempt.pending_refresh_token
            else None,
        )
        return _consent_finish(
            attempt=attempt, choice=choice, user=attempt.userinfo, tokens=tokens, request=request
        )
    except ConsentError as error:
        if error.code == "invalid_choice":
            raise
        if error.code not in ("session_mismatch", "reused_state"):
            _attempt_fail(attempt=attempt, code=error.code)
        _fail_audit(error, request=request, attempt=attempt)
        raise


def _reconsent_account_id(attempt: ConsentAttempt) -> str:
    if attempt.invite.kind != Invite.Kind.RECONSENT:
        return ""
    account = TenantAccount.objects.filter(tenant=attempt.tenant).first()
    return account.account_id if account else ""


def _consent_finish(
    *, attempt: ConsentAttempt, choice: dict, user: dict, tokens: _Tokens, request
) -> ConsentResult:
    tenant = attempt.tenant
    integration = tenant.integration
    if not choice["allowed"]:
        raise ConsentError("base_uri_not_allowed", tenant=tenant)
    expected = _reconsent_account_id(attempt)
    if expected and choice["account_id"] != expected:
        raise ConsentError("other_account_chosen", tenant=tenant)
    if (
        TenantAccount.objects.filter(account_id=choice["account_id"])
        .exclude(tenant=tenant)
        .exists()
    ):
        raise ConsentError("account_taken", tenant=tenant)

    jwt_error = ""
    if tenant.grant_mode == Tenant.GrantMode.JWT:
        # Prove impersonation works for the consenting user now, not at the first sync; the
        # JWT access token (no refresh token) replaces the ACG pair.
        try:
            jwt_set = docusign_client_for(integration).oauth.jwt_user_token(
                client_id=integration.integration_key,
                user_id=user["sub"],
                private_key_pem=integration.rsa_private_key,
                scopes=JWT_SCOPES,
            )
        except DocuSignError as exc:
            jwt_error = _error_label(exc)
            tokens = _Tokens("", "", timezone.now(), None)
        except ValueError:
            jwt_error = "The integration's RSA private key is missing or not a usable PEM key."
            tokens = _Tokens("", "", timezone.now(), None)
        else:
            tokens = _Tokens(jwt_set.access_token, "", jwt_set.expires_at, None)

    try:
        _consent_store(
            attempt=attempt,
            choice=choice,
            user=user,
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
    *, attempt: ConsentAttempt, choice: dict, user: dict, tokens: _Tokens, jwt_error: str, request
) -> None:
    tenant = Tenant.objects.select_for_update().get(pk=attempt.tenant_id)
    now = timezone.now()
    is_jwt = tenant.grant_mode == Tenant.GrantMode.JWT
    TenantAccount.objects.update_or_create(
        tenant=tenant,
        defaults={
            "account_id": choice["account_id"],
            "account_name": choice["account_name"][:200],
            "base_uri": choice["base_uri"],
            "user_id": user["sub"],
            "user_email": user.get("email", "")[:254],
            "user_name": user.get("name", "")[:200],
            "scopes": attempt.scopes,
            "consented_at": now,
            "jwt_verified_at": now if is_jwt and not jwt_error else None,
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
    audit_record(
        action="consent.complete",
        actor_label=ACTOR,
        target=tenant,
        message=f"{user.get('email') or user['sub']} linked {account_label}"
        + (f"; JWT check failed: {jwt_error}" if jwt_error else ""),
        after={
            "account_id": choice["account_id"],
            "base_uri": choice["base_uri"],
            "user_id": user["sub"],
            "scopes": attempt.scopes,
        },
        request=request,
    )
    if jwt_error:
        tenant_status_set(
            tenant=tenant,
            to_status=Tenant.Status.ERROR,
            reason=f"Consent recorded, but JWT impersonation failed: {jwt_error}",
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


def _attempt_fail(*, attempt: ConsentAttempt, code: str) -> None:
    failed = (
        ConsentAttempt.objects.filter(pk=attempt.pk)
        .exclude(outcome=ConsentAttempt.Outcome.COMPLETED)
        .update(
            outcome=ConsentAttempt.Outcome.FAILED,
            error_code=code[:64],
            pending_access_token="",
            pending_refresh_token="",
            pending_access_expires_at=None,
        )
    )
    if failed:
        # Kept on the invite (attempts are purged): the fleet shows it in "Needs a human".
        Invite.objects.filter(pk=attempt.invite_id, completed_at__isnull=True).update(
            failed_at=timezone.now(), failure_code=code[:64]
        )


def _fail_audit(error: ConsentError, *, request=None, attempt: ConsentAttempt | None = None):
    tenant = error.tenant or (attempt.tenant if attempt else None)
    message = f"Consent failed: {error.code}"
    if error.detail:
        message += f" ({error.detail})"
    audit_record(
        action="consent.callback",
        actor_label=ACTOR,
        target=tenant,
        outcome=AuditEvent.Outcome.FAILURE,
        message=message,
        request=request,
    )


def _docusign_detail(params: Mapping[str, str]) -> str:
    error = params.get("error", "")[:64]
    description = params.get("error_description", "")[:240]
    return f"{error}: {description}" if description else error


def _error_label(exc: DocuSignError) -> str:
    """A short, secret-free description of a DocuSign failure (the client scrubs messages)."""
    status = exc.status if exc.status is not None else "no response"
    code = exc.error_code or type(exc).__name__
    return f"{status} {code}: {exc.message}"[:300]


# An attempt past its expiry is useless, but it may still hold encrypted tokens waiting for an
# account choice that never came. Kept a day after expiry for support questions, then dropped; the
# audit log keeps what happened.
ATTEMPT_RETENTION = timedelta(days=1)


def consent_attempts_purge(*, now: datetime | None = None) -> int:
    """Delete consent attempts that expired more than ATTEMPT_RETENTION ago; returns how many."""
    cutoff = (now or timezone.now()) - ATTEMPT_RETENTION
    deleted, _ = ConsentAttempt.objects.filter(expires_at__lt=cutoff).delete()
    return deleted
