"""Consent invitations: a signed, single-tenant link that a client admin opens to consent.

The link carries the tenant id and the invite's random nonce, signed with SECRET_KEY and a salt of
its own, so a link cannot be forged, moved to another tenant, or reused once superseded.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import User
from common.bulk import BulkResult
from common.models import AuditEvent, BulkOperationItem
from common.services import audit_record
from tenants.models import Invite, Tenant, TenantAccount
from tenants.services.status import tenant_status_set

logger = logging.getLogger(__name__)

INVITE_SALT = "tenants.invite.v1"
# A signed token is about 80 characters; anything much longer is not one of ours.
INVITE_TOKEN_MAX_LENGTH = 300


class InviteInvalid(Exception):
    """The link cannot be used. `code` says why; `message` says it to the client admin."""

    MESSAGES = {
        "malformed": "This link is incomplete or has been changed. Copy the whole link from the "
        "email, or ask your contact at {partner} for a new one.",
        "unknown": "This link does not match any invitation. Ask your contact at {partner} for "
        "a new one.",
        "superseded": "A newer invitation was sent, which replaces this one. Use the link in the "
        "most recent email from {partner}.",
        "expired": "This invitation has expired. Ask your contact at {partner} to send a new one.",
        "completed": "This invitation was already used to connect your DocuSign account. Nothing "
        "more is needed. If you meant to connect again, ask {partner} for a new link.",
        "closed": "This client account is no longer served by {partner}, so the link no longer "
        "works.",
    }

    def __init__(self, code: str, invite: Invite | None = None):
        self.code = code
        self.invite = invite
        super().__init__(code)

    @property
    def message(self) -> str:
        return self.MESSAGES[self.code].format(partner=settings.PARTNER_NAME)


@dataclass(frozen=True)
class InviteSent:
    invite: Invite
    emailed: bool


def invite_token(invite: Invite) -> str:
    """The same token every time for one invite (no timestamp: expiry lives on the Invite), so
    the emailed link and the one staff copy are identical."""
    return signing.Signer(salt=INVITE_SALT).sign_object({"t": invite.tenant_id, "n": invite.nonce})


def invite_send(
    *,
    tenant: Tenant,
    kind: str = Invite.Kind.CONSENT,
    actor: User | None = None,
    actor_label: str = "",
    request: HttpRequest | None = None,
) -> InviteSent:
    """Issue a new invite (superseding every older one) and email it to the tenant's admin.

    The invite is committed before the email goes out: if the mail server fails, staff can still
    copy the link, and the failure is in the audit log."""
    invite = _invite_create(
        tenant=tenant, kind=kind, actor=actor, actor_label=actor_label, request=request
    )
    from tenants.selectors.tenants import invite_link

    context = {
        "tenant": tenant,
        "partner_name": settings.PARTNER_NAME,
        "link": invite_link(invite),
        "expires_at": invite.expires_at,
        "is_reconsent": invite.kind == Invite.Kind.RECONSENT,
        "is_org": tenant.grant_mode == Tenant.GrantMode.ORG_ADMIN,
    }
    subject = (
        f"{settings.PARTNER_NAME}: please reconnect your DocuSign account"
        if context["is_reconsent"]
        else f"{settings.PARTNER_NAME}: connect your DocuSign account"
    )
    try:
        send_mail(
            subject=subject,
            message=render_to_string("tenants/email/invite.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[tenant.admin_email],
        )
    except Exception as exc:
        # The link never goes into the log line or the audit row: it grants consent.
        logger.warning("Invite email for tenant %s failed: %s", tenant.pk, type(exc).__name__)
        audit_record(
            action="invite.email",
            actor=actor,
            actor_label=actor_label,
            target=tenant,
            outcome=AuditEvent.Outcome.FAILURE,
            message=f"Email to {tenant.admin_email} failed ({type(exc).__name__}); copy the link.",
            request=request,
        )
        return InviteSent(invite=invite, emailed=False)
    Invite.objects.filter(pk=invite.pk).update(sent_at=timezone.now(), sent_to=tenant.admin_email)
    invite.refresh_from_db()
    audit_record(
        action="invite.email",
        actor=actor,
        actor_label=actor_label,
        target=tenant,
        message=f"Sent to {tenant.admin_email}",
        request=request,
    )
    return InviteSent(invite=invite, emailed=True)


@transaction.atomic
def _invite_create(
    *, tenant: Tenant, kind: str, actor: User | None, actor_label: str, request: HttpRequest | None
) -> Invite:
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.status == Tenant.Status.OFFBOARDED or tenant.is_archived:
        raise ValueError("This tenant is offboarded or archived: it cannot be invited.")
    now = timezone.now()
    superseded = Invite.objects.filter(
        tenant=tenant, superseded_at__isnull=True, completed_at__isnull=True
    ).update(superseded_at=now)
    label = actor.get_username() if actor is not None and actor.is_authenticated else actor_label
    invite = Invite.objects.create(
        tenant=tenant,
        nonce=secrets.token_urlsafe(32),
        kind=kind,
        sent_to=tenant.admin_email,
        created_by_label=(label or "system")[:150],
        created_at=now,
        expires_at=now + timedelta(days=settings.INVITE_VALID_DAYS),
    )
    audit_record(
        action="invite.create",
        actor=actor,
        actor_label=actor_label,
        target=tenant,
        message=f"{invite.get_kind_display()} invite, valid until {invite.expires_at:%Y-%m-%d}"
        + (f"; {superseded} older link(s) no longer work" if superseded else ""),
        request=request,
    )
    if kind == Invite.Kind.CONSENT and tenant.status in (
        Tenant.Status.REGISTERED,
        Tenant.Status.ERROR,
    ):
        tenant_status_set(
            tenant=tenant,
            to_status=Tenant.Status.INVITED,
            reason="Consent invite sent",
            actor=actor,
            actor_label=actor_label,
        )
    return invite


def invite_resolve(*, token: str) -> Invite:
    """The invite a link stands for, if it can still be used; else `InviteInvalid`."""
    if not token or len(token) > INVITE_TOKEN_MAX_LENGTH:
        raise InviteInvalid("malformed")
    try:
        payload = signing.Signer(salt=INVITE_SALT).unsign_object(token)
        tenant_id, nonce = int(payload["t"]), str(payload["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InviteInvalid("malformed") from None
    invite = (
        Invite.objects.select_related("tenant", "tenant__integration")
        .filter(nonce=nonce, tenant_id=tenant_id)
        .first()
    )
    if invite is None:
        raise InviteInvalid("unknown")
    tenant = invite.tenant
    if tenant.status == Tenant.Status.OFFBOARDED or tenant.is_archived:
        raise InviteInvalid("closed", invite)
    if invite.completed_at is not None:
        raise InviteInvalid("completed", invite)
    if invite.superseded_at is not None:
        raise InviteInvalid("superseded", invite)
    if invite.expires_at <= timezone.now():
        raise InviteInvalid("expired", invite)
    return invite


def invite_rejected_record(*, error: InviteInvalid, request: HttpRequest | None = None) -> None:
    """Audit a refused invite link (the token itself is never recorded)."""
    invite = error.invite
    audit_record(
        action="invite.rejected",
        actor_label="client-admin",
        target=invite.tenant if invite else None,
        outcome=AuditEvent.Outcome.FAILURE,
        message=f"Invite link refused: {error.code}",
        request=request,
    )


def invite_open(*, invite: Invite, request: HttpRequest | None = None) -> None:
    """Track the first opening of the link (later openings are not news)."""
    opened = Invite.objects.filter(pk=invite.pk, opened_at__isnull=True).update(
        opened_at=timezone.now()
    )
    if opened:
        invite.refresh_from_db(fields=["opened_at"])
        audit_record(
            action="invite.open",
            actor_label="client-admin",
            target=invite.tenant,
            message="Invite link opened",
            request=request,
        )


def invite_reconsent_send(
    *,
    tenant_id: int,
    actor: User | None = None,
    actor_label: str = "",
    request: HttpRequest | None = None,
) -> InviteSent:
    """Send the tenant's admin a re-consent invite (one click on the tenant page, or one bulk
    item). Returns `InviteSent`."""
    tenant = Tenant.objects.get(pk=tenant_id)
    return invite_send(
        tenant=tenant,
        kind=Invite.Kind.RECONSENT,
        actor=actor,
        actor_label=actor_label,
        request=request,
    )


def invite_reconsent_for_bulk(*, tenant_id: int, actor_id: int | None) -> BulkResult:
    """`common.bulk` handler for RECONSENT_INVITE: one tenant, with a per-tenant outcome."""
    Outcome = BulkOperationItem.Outcome
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return BulkResult(Outcome.SKIPPED, "The tenant no longer exists.")
    if tenant.status == Tenant.Status.OFFBOARDED or tenant.is_archived:
        return BulkResult(Outcome.SKIPPED, "Offboarded or archived: not invited.")
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    # A tenant that never linked an account needs its first consent (which also moves it to
    # Invited); only a linked one is asked to re-consent.
    linked = TenantAccount.objects.filter(tenant_id=tenant_id).exists()
    kind = Invite.Kind.RECONSENT if linked else Invite.Kind.CONSENT
    sent = invite_send(tenant=tenant, kind=kind, actor=actor, actor_label="bulk")
    if not sent.emailed:
        return BulkResult(Outcome.FAILED, "Invite created, but the email failed: copy the link.")
    label = "Re-consent invite" if linked else "Consent invite"
    return BulkResult(Outcome.SUCCEEDED, f"{label} sent to {tenant.admin_email}.")
