"""The way back from DocuSign: the callback claims its consent attempt (once, for this browser
session), exchanges the code, and finishes the consent or asks which account to link."""

import hmac
from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from common.services import audit_record
from docusign_api import base_uri_host_allowed
from tenants.models import ConsentAttempt, Invite, Tenant, TenantAccount
from tenants.services.consent import (
    CODE_MAX_LENGTH,
    STATE_MAX_LENGTH,
    consent_failure_audit,
    session_hash,
    state_hash,
)
from tenants.services.consent_errors import ConsentError, docusign_detail
from tenants.services.consent_finish import (
    ACTOR,
    REFRESH_TOKEN_LIFETIME,
    ConsentResult,
    Grant,
    Tokens,
    code_exchange,
    consent_finish,
    reconsent_account_id,
)
from tenants.services.system_user import SystemUserError, system_user_verify


def consent_callback(
    *, params: Mapping[str, str], session_key: str | None, request: HttpRequest | None = None
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
        consent_failure_audit(error, request=request, attempt=attempt)
        raise


def _attempt_claim(*, params: Mapping[str, str], session_key: str | None) -> ConsentAttempt:
    state = params.get("state", "")
    error = params.get("error", "")
    if error and not state:
        raise ConsentError(
            "access_denied" if error == "access_denied" else "docusign_error",
            detail=docusign_detail(params),
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


def _callback_claimed(
    *, attempt: ConsentAttempt, params: Mapping[str, str], request: HttpRequest | None
) -> ConsentResult:
    tenant = attempt.tenant
    is_org = tenant.grant_mode == Tenant.GrantMode.ORG_ADMIN
    error = params.get("error", "")
    if error:
        raise ConsentError(
            _redirect_error_code(params, is_org=is_org),
            tenant=tenant,
            detail=docusign_detail(params),
        )
    code = params.get("code", "")
    if len(code) > CODE_MAX_LENGTH or (not code and not is_org):
        raise ConsentError("missing_code", tenant=tenant)
    # What an organization grant's redirect carries is unconfirmed (API.md 7): with a code, the
    # code names the admin who granted it; without one, only the named system user is known.
    tokens, info = code_exchange(attempt=attempt, code=code) if code else (None, None)
    granted_by = {"sub": info.sub, "name": info.name, "email": info.email} if info else {}
    if is_org:
        target = attempt.system_user_id or granted_by.get("sub", "")
        if not target:
            raise ConsentError("system_user_required", tenant=tenant)
        try:
            verified = system_user_verify(integration=tenant.integration, user_id=target)
        except SystemUserError as exc:
            code_name = exc.code if exc.code in ConsentError.TEXTS else "jwt_failed"
            raise ConsentError(code_name, tenant=tenant, detail=exc.detail) from None
        info = verified.info
        token_set = verified.token_set
        tokens = Tokens(token_set.access_token, "", token_set.expires_at, None)
        grant = Grant(level=TenantAccount.ConsentLevel.ORGANIZATION, user=granted_by)
    elif tokens is None or info is None:
        raise ConsentError("missing_code", tenant=tenant)
    else:
        grant = Grant(level=TenantAccount.ConsentLevel.INDIVIDUAL, user=granted_by)

    if not info.accounts:
        raise ConsentError("no_accounts", tenant=tenant)
    allowed_hosts = tenant.integration.allowed_base_uri_hosts
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
    expected = reconsent_account_id(attempt)
    if expected:
        match = next((c for c in choices if c["account_id"] == expected), None)
        if match is None:
            raise ConsentError("wrong_account", tenant=tenant)
        # Re-consent reconnects the linked account; there is nothing to choose.
        return consent_finish(
            attempt=attempt, choice=match, grant=grant, tokens=tokens, request=request
        )
    if not any(c["allowed"] for c in choices):
        raise ConsentError("base_uri_not_allowed", tenant=tenant)
    if len(choices) == 1:
        return consent_finish(
            attempt=attempt, choice=choices[0], grant=grant, tokens=tokens, request=request
        )
    # Several accounts: the admin chooses (never silently the default). The tokens wait,
    # encrypted, on the attempt; the choice gets a fresh TTL of its own.
    now = timezone.now()
    ConsentAttempt.objects.filter(pk=attempt.pk).update(
        outcome=ConsentAttempt.Outcome.CHOOSING_ACCOUNT,
        account_choices=choices,
        userinfo={**granted_by, "level": grant.level},
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


def _redirect_error_code(params: Mapping[str, str], *, is_org: bool) -> str:
    error = params.get("error", "")
    if error == "access_denied":
        return "access_denied"
    if is_org:
        # The emulator's answers for the two organization prerequisites (UNCONFIRMED at DocuSign;
        # docusign_emulator/README.md); the JWT check after a grant catches what slips through.
        description = params.get("error_description", "").lower()
        if "claimed" in description or "reserved domain" in description:
            return "no_claimed_domain"
        if error == "unauthorized_client" or "organization administrator" in description:
            return "org_admin_required"
    return "docusign_error"


def consent_account_choose(
    *,
    attempt: ConsentAttempt,
    session_key: str | None,
    account_id: str,
    request: HttpRequest | None = None,
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
            consent_failure_audit(error, request=request, attempt=attempt)
            raise error
        now = timezone.now()
        taken = ConsentAttempt.objects.filter(
            pk=attempt.pk, outcome=ConsentAttempt.Outcome.CHOOSING_ACCOUNT
        ).update(outcome=ConsentAttempt.Outcome.PENDING)
        if not taken:
            raise ConsentError("reused_state", tenant=tenant)
        if attempt.expires_at <= now:
            raise ConsentError("expired_state", tenant=tenant)
        tokens = Tokens(
            access_token=attempt.pending_access_token,
            refresh_token=attempt.pending_refresh_token,
            expires_at=attempt.pending_access_expires_at or now,
            refresh_expires_at=now + REFRESH_TOKEN_LIFETIME
            if attempt.pending_refresh_token
            else None,
        )
        stored = dict(attempt.userinfo)
        level = stored.pop("level", TenantAccount.ConsentLevel.INDIVIDUAL)
        return consent_finish(
            attempt=attempt,
            choice=choice,
            grant=Grant(level=level, user=stored),
            tokens=tokens,
            request=request,
        )
    except ConsentError as error:
        if error.code == "invalid_choice":
            raise
        if error.code not in ("session_mismatch", "reused_state"):
            _attempt_fail(attempt=attempt, code=error.code)
        consent_failure_audit(error, request=request, attempt=attempt)
        raise


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
