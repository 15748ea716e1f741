"""Unanswered invites are re-sent automatically: after INVITE_UNANSWERED_DAYS, again shortly before
they expire, never more than twice, and each nudge shows in the invite timeline."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from tenants.models import Invite, Tenant
from tenants.selectors.tenants import invite_link
from tenants.services.invite_nudges import invite_nudge, invites_due_for_nudge
from tenants.tasks import invite_nudges_due
from tenants.tests.factories import InviteFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def invite(settings):
    settings.INVITE_UNANSWERED_DAYS = 3
    settings.INVITE_NUDGE_BEFORE_EXPIRY_HOURS = 24
    sent = timezone.now()
    tenant = TenantFactory(status=Tenant.Status.INVITED, admin_email="admin@client.example")
    return InviteFactory(
        tenant=tenant,
        sent_at=sent,
        sent_to="admin@client.example",
        created_at=sent,
        expires_at=sent + timedelta(days=7),
    )


def test_nothing_is_due_before_the_configured_days(invite):
    assert invites_due_for_nudge(now=invite.sent_at + timedelta(days=2)) == []


def test_two_nudges_then_no_more(invite):
    day = timedelta(days=1)
    # Day 3: the first reminder, with the same link.
    assert invites_due_for_nudge(now=invite.sent_at + 3 * day) == [invite.pk]
    assert invite_nudge(invite_id=invite.pk, now=invite.sent_at + 3 * day)
    assert invite_nudge(invite_id=invite.pk, now=invite.sent_at + 3 * day) is False  # rerun
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["admin@client.example"]
    assert mail.outbox[0].subject.startswith("Reminder:")
    assert invite_link(invite) in mail.outbox[0].body  # the same link: nothing to supersede
    # Day 5: nothing (the second one waits for the last day).
    assert invites_due_for_nudge(now=invite.sent_at + 5 * day) == []
    # Day 6.5: the last call before expiry.
    last_day = invite.sent_at + 6 * day + timedelta(hours=12)
    assert invites_due_for_nudge(now=last_day) == [invite.pk]
    assert invite_nudge(invite_id=invite.pk, now=last_day)
    assert "expires soon" in mail.outbox[1].body
    # Never a third.
    assert invites_due_for_nudge(now=last_day + timedelta(hours=11)) == []
    assert len(Invite.objects.get(pk=invite.pk).nudges) == 2


def test_answered_superseded_or_expired_invites_are_left_alone(invite):
    later = invite.sent_at + timedelta(days=4)
    Invite.objects.filter(pk=invite.pk).update(completed_at=later)
    assert invites_due_for_nudge(now=later) == []
    Invite.objects.filter(pk=invite.pk).update(completed_at=None, superseded_at=later)
    assert invites_due_for_nudge(now=later) == []
    Invite.objects.filter(pk=invite.pk).update(superseded_at=None)
    assert invites_due_for_nudge(now=invite.expires_at + timedelta(minutes=1)) == []


def test_the_beat_task_nudges_and_the_timeline_shows_it(invite, staff_client):
    Invite.objects.filter(pk=invite.pk).update(
        sent_at=timezone.now() - timedelta(days=4), created_at=timezone.now() - timedelta(days=4)
    )
    assert invite_nudges_due() == 1
    assert len(mail.outbox) == 1
    page = staff_client(Role.SUPPORT).get(
        reverse("tenant-detail", kwargs={"tenant_id": invite.tenant_id})
    )
    timeline = page.content.decode().split("data-invite-timeline>", 1)[1].split("</dd>", 1)[0]
    assert "re-sent automatically" in timeline
