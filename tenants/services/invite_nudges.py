"""Invite nudges: an unanswered invite is e-mailed again (the same link) after
INVITE_UNANSWERED_DAYS, and again INVITE_NUDGE_BEFORE_EXPIRY_HOURS before it expires; two at most.
Each nudge is kept on the invite (`nudges`) and so appears in the invite timeline."""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from common.models import AuditEvent
from common.services import audit_record
from tenants.models import Invite, Tenant

MAX_NUDGES = 2


def _open_invites(now: datetime) -> QuerySet[Invite]:
    """Invites the admin can still answer, of tenants still waiting for it."""
    return Invite.objects.filter(
        superseded_at__isnull=True,
        completed_at__isnull=True,
        sent_at__isnull=False,
        expires_at__gt=now,
        tenant__archived_at__isnull=True,
        tenant__status__in=(Tenant.Status.INVITED, Tenant.Status.NEEDS_RECONSENT),
    )


def _nudge_due(invite: Invite, now: datetime) -> bool:
    count = len(invite.nudges)
    if count >= MAX_NUDGES or invite.sent_at is None:
        return False
    last = datetime.fromisoformat(invite.nudges[-1]) if invite.nudges else invite.sent_at
    before_expiry = invite.expires_at - timedelta(hours=settings.INVITE_NUDGE_BEFORE_EXPIRY_HOURS)
    if now >= before_expiry:
        # The last call: once, and not right after another nudge.
        return now - last >= timedelta(hours=settings.INVITE_NUDGE_BEFORE_EXPIRY_HOURS / 2)
    return count == 0 and now - invite.sent_at >= timedelta(days=settings.INVITE_UNANSWERED_DAYS)


def invites_due_for_nudge(*, now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    before_expiry = now + timedelta(hours=settings.INVITE_NUDGE_BEFORE_EXPIRY_HOURS)
    candidates = _open_invites(now).filter(
        Q(sent_at__lte=now - timedelta(days=settings.INVITE_UNANSWERED_DAYS))
        | Q(expires_at__lte=before_expiry)
    )
    # The nudge count lives in a JSON list: the last filter runs here, on the few candidates.
    return [invite.pk for invite in candidates if _nudge_due(invite, now)]


def invite_nudge(*, invite_id: int, now: datetime | None = None) -> bool:
    """E-mail the same link again if a nudge is due; True when one went out. The nudge is recorded
    before the mail is sent (a rerun finds it done), so at most one mail per due nudge."""
    from tenants.selectors.tenants import invite_link

    now = now or timezone.now()
    invite = _open_invites(now).select_related("tenant").filter(pk=invite_id).first()
    if invite is None or not _nudge_due(invite, now):
        return False
    nudges = [*invite.nudges, now.isoformat()]
    # Compare-and-set on the list seen: a concurrent run that nudged first wins.
    if not Invite.objects.filter(pk=invite.pk, nudges=invite.nudges).update(nudges=nudges):
        return False
    tenant = invite.tenant
    expires_soon = now >= invite.expires_at - timedelta(
        hours=settings.INVITE_NUDGE_BEFORE_EXPIRY_HOURS
    )
    context = {
        "tenant": tenant,
        "partner_name": settings.PARTNER_NAME,
        "link": invite_link(invite),
        "expires_at": invite.expires_at,
        "is_reconsent": invite.kind == Invite.Kind.RECONSENT,
        "is_reminder": True,
        "expires_soon": expires_soon,
    }
    try:
        send_mail(
            subject=f"Reminder: {settings.PARTNER_NAME} is waiting for your DocuSign connection",
            message=render_to_string("tenants/email/invite.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[invite.sent_to or tenant.admin_email],
        )
    except Exception as exc:  # any mail backend's failure: recorded, never the link
        audit_record(
            action="invite.nudge",
            actor_label="scheduler",
            target=tenant,
            outcome=AuditEvent.Outcome.FAILURE,
            message=f"Reminder {len(nudges)} to {invite.sent_to} failed ({type(exc).__name__})",
        )
        return False
    audit_record(
        action="invite.nudge",
        actor_label="scheduler",
        target=tenant,
        message=f"Reminder {len(nudges)} of {MAX_NUDGES} sent to {invite.sent_to}"
        + (" (expires soon)" if expires_soon else ""),
    )
    return True
