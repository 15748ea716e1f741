"""Reads about tenants, their invites and their consent, shaped for pages and exports."""

from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Perm
from tenants.models import ConsentAttempt, Integration, Invite, Tenant, TenantAccount

STATUS_BADGES: dict[str, str] = {
    Tenant.Status.REGISTERED: "idle",
    Tenant.Status.INVITED: "info",
    Tenant.Status.CONSENTED: "ok",
    Tenant.Status.ACTIVE: "ok",
    Tenant.Status.NEEDS_RECONSENT: "warn",
    Tenant.Status.ERROR: "bad",
    Tenant.Status.SUSPENDED: "warn",
    Tenant.Status.OFFBOARDED: "idle",
}


def invite_link(invite: Invite) -> str:
    """The absolute link the client admin opens (built from PORTAL_PUBLIC_URL)."""
    from tenants.services.invites import invite_token

    path = reverse("consent-landing", kwargs={"token": invite_token(invite)})
    return f"{settings.PORTAL_PUBLIC_URL}{path}"


def invite_state(invite: Invite | None) -> tuple[str, str]:
    """(label, badge class) of an invite's progress."""
    if invite is None:
        return "No invite yet", "idle"
    if invite.completed_at:
        return "Completed", "ok"
    if invite.superseded_at:
        return "Replaced by a newer invite", "idle"
    if invite.expires_at <= timezone.now():
        return "Expired", "bad"
    if invite.opened_at:
        return "Opened, not completed", "info"
    if invite.sent_at:
        return "Sent, not opened", "info"
    return "Created, not emailed", "warn"


def tenant_latest_invite(*, tenant: Tenant) -> Invite | None:
    return tenant.invites.order_by("-created_at", "-id").first()


def tenant_consent_panel(*, tenant: Tenant, viewer: User) -> dict:
    """Everything `tenants/_tenant_panel.html` shows: status, invite progress (the link only for
    staff allowed to see links), and the linked account. Values are final: the template only
    prints them."""
    invite = tenant_latest_invite(tenant=tenant)
    label, badge = invite_state(invite)
    usable = invite is not None and invite.is_usable()
    may_see_link = bool(viewer and viewer.is_authenticated and viewer.can(Perm.SEE_INVITE_LINKS))
    account = getattr(tenant, "account", None) if _has_account(tenant) else None
    return {
        "tenant": tenant,
        "status": tenant.status,
        "status_label": tenant.get_status_display(),
        "status_badge": STATUS_BADGES.get(tenant.status, "idle"),
        "status_reason": tenant.status_reason,
        "status_changed_at": tenant.status_changed_at,
        "grant_mode_label": tenant.get_grant_mode_display(),
        "integration_name": tenant.integration.name,
        "invite": invite,
        "invite_kind": invite.get_kind_display() if invite else "",
        "invite_state": label,
        "invite_badge": badge,
        "invite_sent_at": invite.sent_at if invite else None,
        "invite_opened_at": invite.opened_at if invite else None,
        "invite_completed_at": invite.completed_at if invite else None,
        "invite_expires_at": invite.expires_at if invite else None,
        "invite_nudges": [datetime.fromisoformat(at) for at in invite.nudges] if invite else [],
        "invite_failed_at": invite.failed_at if invite and not invite.completed_at else None,
        "invite_failure": _consent_failure_text(invite),
        "invite_sent_to": invite.sent_to if invite else "",
        "invite_link": invite_link(invite)
        if invite is not None and usable and may_see_link
        else "",
        "invite_link_hidden": usable and not may_see_link,
        "may_invite": bool(viewer and viewer.is_authenticated and viewer.can(Perm.OPERATE))
        and tenant.status != Tenant.Status.OFFBOARDED
        and not tenant.is_archived,
        "account": account,
        "account_id": account.account_id if account else "",
        "account_name": account.account_name if account else "",
        "account_base_uri": account.base_uri if account else "",
        "account_user": (account.user_name or account.user_email) if account else "",
        "account_user_email": account.user_email if account else "",
        "account_consented_at": account.consented_at if account else None,
        "account_scopes": account.scopes if account else "",
        "is_jwt": tenant.uses_jwt,
        "impersonation": _impersonation_line(tenant, account),
        "may_set_system_user": bool(viewer and viewer.is_authenticated and viewer.can(Perm.OPERATE))
        and tenant.uses_jwt
        and account is not None,
        "jwt_verified_at": account.jwt_verified_at if account else None,
        "jwt_last_error": account.jwt_last_error if account else "",
    }


def _consent_failure_text(invite: Invite | None) -> str:
    if invite is None or invite.completed_at or not invite.failed_at:
        return ""
    from tenants.selectors.attention import CONSENT_FAILURE_ADVICE, CONSENT_FAILURE_DEFAULT_ADVICE

    advice = CONSENT_FAILURE_ADVICE.get(invite.failure_code, CONSENT_FAILURE_DEFAULT_ADVICE)
    return f"The client admin's last try failed ({invite.failure_code}). {advice}"


def _impersonation_line(tenant: Tenant, account: TenantAccount | None) -> str:
    """'Impersonates X, consent granted by Y (individual)': the line the tenant page prints."""
    if account is None:
        return ""
    level = account.get_consent_level_display()
    granted_by = account.granted_by_email or account.granted_by_name or account.granted_by_user_id
    if not granted_by:
        granted_by = (
            "an organization administrator"
            if account.consent_level == TenantAccount.ConsentLevel.ORGANIZATION
            else "someone DocuSign did not name"
        )
    if not tenant.uses_jwt:
        return f"Acts as {account.user_email or account.user_id} ({level} consent)"
    who = account.user_email or account.user_id
    if account.user_name and account.user_email:
        who = f"{account.user_name} <{account.user_email}>"
    return f"Impersonates {who}, consent granted by {granted_by} ({level})"


def _has_account(tenant: Tenant) -> bool:
    try:
        tenant.account  # noqa: B018 - the reverse one-to-one raises when there is none
    except Tenant.account.RelatedObjectDoesNotExist:
        return False
    return True


def tenant_status_history(*, tenant: Tenant, limit: int = 20) -> QuerySet:
    return tenant.status_changes.all()[:limit]


def tenant_get(*, tenant_id: int) -> Tenant:
    return Tenant.objects.select_related("integration").get(pk=tenant_id)


def integration_list() -> QuerySet[Integration]:
    return Integration.objects.all().order_by("name")


def integration_choices_active() -> QuerySet[Integration]:
    return Integration.objects.filter(is_active=True).order_by("name")


EXPORT_HEADER = [
    "name",
    "slug",
    "admin_email",
    "integration",
    "grant_mode",
    "status",
    "status_reason",
    "account_id",
    "account_name",
    "notes",
    "created_at",
    "archived",
]


def tenant_export_rows() -> Iterator[list]:
    """One row per tenant for the CSV export (cells are neutralised by `common.csvexport`)."""
    tenants = Tenant.objects.select_related("integration", "account").order_by("name", "pk")
    for tenant in tenants.iterator(chunk_size=500):
        account = tenant.account if _has_account(tenant) else None
        yield [
            tenant.name,
            tenant.slug,
            tenant.admin_email,
            tenant.integration.name,
            tenant.grant_mode,
            tenant.status,
            tenant.status_reason,
            account.account_id if account else "",
            account.account_name if account else "",
            tenant.notes,
            tenant.created_at.isoformat(),
            "yes" if tenant.is_archived else "no",
        ]


def consent_attempt_for_choice(
    *, attempt_id: int | None, session_key: str | None
) -> ConsentAttempt | None:
    """The attempt waiting for this browser to pick an account, or None."""
    from tenants.services.consent import session_hash

    if not attempt_id or not session_key:
        return None
    return (
        ConsentAttempt.objects.select_related("tenant", "tenant__integration", "invite")
        .filter(
            pk=attempt_id,
            session_key_hash=session_hash(session_key),
            outcome=ConsentAttempt.Outcome.CHOOSING_ACCOUNT,
        )
        .first()
    )
