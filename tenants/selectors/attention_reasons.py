"""Why a tenant is in a "needs a human" category, in words staff can act on: the reason text
of each category and the fields it reads, annotated onto the tenants a category selects
(`attention_categories.py`)."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery

from tenants.models import Invite, Tenant

# What staff can do about a failed consent, by ConsentError code (the admin saw their own text).
CONSENT_FAILURE_ADVICE = {
    "account_taken": "They chose a DocuSign account already linked to another tenant: check for a "
    "duplicate tenant, or ask them to choose another account.",
    "access_denied": "They declined access: ask them why, then send a new invite.",
    "wrong_account": "They signed in with a user outside the linked account: ask them to use a "
    "user of that account.",
    "other_account_chosen": "They chose a different account than the one linked: ask them to "
    "choose the linked account, or offboard and register again.",
    "token_error": "DocuSign refused the integration key: check the integration's secret key "
    "and redirect URI.",
    "base_uri_not_allowed": "DocuSign reported an unexpected account address: check "
    "DOCUSIGN_*_BASE_URI_HOSTS.",
    "integration_inactive": "The integration is inactive: activate it, then ask them to retry.",
    "no_accounts": "Their DocuSign user belongs to no account: ask for the account's admin.",
}
CONSENT_FAILURE_DEFAULT_ADVICE = "They were told how to retry; if it persists, send a new invite."


def one_to_one(tenant: Tenant, name: str) -> Any:
    """The joined one-to-one neighbour, or None; never a query (select_related filled the cache,
    with None where there is no row, which the descriptor would turn into an exception)."""
    return tenant._state.fields_cache.get(name)


def attention_reason(key: str, tenant: Tenant, now: datetime) -> str:
    if key == "needs_reconsent":
        return tenant.status_reason or "DocuSign refused the grant"
    if key == "consent_failed":
        code = getattr(tenant, "failure_code", "") or "unknown"
        advice = CONSENT_FAILURE_ADVICE.get(code, CONSENT_FAILURE_DEFAULT_ADVICE)
        return f"Consent failed ({code}). {advice}"
    if key == "invite_unanswered":
        sent = getattr(tenant, "invite_created_at", None)
        days = (now - sent).days if sent else settings.INVITE_UNANSWERED_DAYS
        return (
            f"Invite unanswered for {days} day{'s' if days != 1 else ''}: call the admin, or "
            "check the address (reminders go out automatically)."
        )
    if key == "invite_expired":
        expired = getattr(tenant, "invite_expired_at", None)
        return f"Invite expired {expired:%Y-%m-%d}" if expired else "No invite was sent"
    if key == "lapsing":
        lapses_at = one_to_one(tenant, "token").refresh_expires_at
        days = max(0, (lapses_at - now).days)
        return f"Consent lapses {lapses_at:%Y-%m-%d} (in {days} day{'s' if days != 1 else ''})"
    if key == "behind":
        return "A template's new version is not on DocuSign yet: sync the tenant, or wait."
    state = one_to_one(tenant, "connect_state")
    if key == "connect_drift":
        return "Drift reported" + (f": {state.last_error}" if state and state.last_error else "")
    if key == "sync_failing":
        failures = state.consecutive_failures if state else 0
        error = state.last_error if state else ""
        return f"{failures} failed syncs in a row" + (f": {error}" if error else "")
    if key == "work_waiting":
        token = one_to_one(tenant, "token")
        ends = [
            end
            for end in (
                state.lease_expires_at if state else None,
                token.refresh_lease_expires_at if token else None,
            )
            if end is not None and end < now
        ]
        minutes = int((now - min(ends)).total_seconds() // 60) if ends else 0
        return (
            f"Work for this tenant is {minutes} min past its lease: the scheduler re-enqueues "
            "it; if it stays, check the workers and the broker."
        )
    if key == "rate_limit_low":
        return (
            f"{state.rate_limit_remaining} of {state.rate_limit_limit} calls left until "
            f"{state.rate_limit_reset_at:%H:%M} UTC"
        )
    return ""


def _current_invite(field: str) -> Subquery:
    return Subquery(
        Invite.objects.filter(
            tenant=OuterRef("pk"), superseded_at__isnull=True, completed_at__isnull=True
        )
        .order_by("-created_at", "-id")
        .values(field)[:1]
    )


def with_reason_fields(key: str, tenants: QuerySet[Tenant]) -> QuerySet[Tenant]:
    """`tenants` with what `attention_reason` reads for `key` annotated."""
    if key == "invite_expired":
        return tenants.annotate(
            invite_expired_at=Subquery(
                Invite.objects.filter(tenant=OuterRef("pk"))
                .order_by("-created_at", "-id")
                .values("expires_at")[:1]
            )
        )
    if key == "consent_failed":
        return tenants.annotate(failure_code=_current_invite("failure_code"))
    if key == "invite_unanswered":
        return tenants.annotate(invite_created_at=_current_invite("created_at"))
    return tenants
