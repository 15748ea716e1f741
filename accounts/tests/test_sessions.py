"""Staff sessions: each sees their own and signs the others out; owners end anyone's; a role or
access change ends the member's sessions; password sign-in can be kept for one break-glass owner."""

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client
from django.urls import reverse

from accounts.roles import Role
from accounts.tests.factories import STAFF_PASSWORD, UserFactory
from common.models import AuditEvent

pytestmark = pytest.mark.django_db


def _signed_in_client(user, agent: str) -> Client:
    client = Client(headers={"user-agent": agent})
    response = client.post(
        reverse("login"), {"username": user.username, "password": STAFF_PASSWORD}
    )
    assert response.status_code == 302
    return client


def test_a_member_sees_their_sessions_and_signs_the_others_out():
    member = UserFactory(role=Role.OPERATOR)
    laptop = _signed_in_client(member, "Laptop Firefox")
    phone = _signed_in_client(member, "Phone Safari")

    page = laptop.get(reverse("usersessions_list"))
    assert page.status_code == 200
    assert page.context["session_count"] == 2
    assert b"Laptop Firefox" in page.content
    assert b"Phone Safari" in page.content

    assert laptop.post(reverse("usersessions_list")).status_code == 302
    assert laptop.get(reverse("dashboard")).status_code == 200
    assert phone.get(reverse("dashboard")).status_code == 302
    assert UserSession.objects.filter(user=member).count() == 1


def test_an_owner_ends_every_session_of_a_member_and_it_is_audited(staff_client):
    member = UserFactory(role=Role.SUPPORT)
    browsers = [_signed_in_client(member, f"Browser {n}") for n in range(2)]
    owner_client = staff_client(Role.OWNER)

    detail = owner_client.get(reverse("staff-detail", kwargs={"user_id": member.pk}))
    assert len(detail.context["sessions"]) == 2
    response = owner_client.post(reverse("staff-sessions-end", kwargs={"user_id": member.pk}))
    assert response.status_code == 302

    assert all(b.get(reverse("dashboard")).status_code == 302 for b in browsers)
    event = AuditEvent.objects.get(action="staff.sessions_end")
    assert event.actor == owner_client.user
    assert event.message.startswith("2 session(s) ended")


def test_a_role_change_ends_the_members_sessions(staff_client):
    member = UserFactory(role=Role.OPERATOR)
    browser = _signed_in_client(member, "Browser")
    owner_client = staff_client(Role.OWNER)
    owner_client.post(
        reverse("staff-detail", kwargs={"user_id": member.pk}),
        {"role": Role.SUPPORT, "is_active": "on"},
    )
    # Signed out: the next sign-in gets the new role's session.
    assert browser.get(reverse("dashboard")).status_code == 302
    assert AuditEvent.objects.filter(action="staff.sessions_end", target_id=member.pk).exists()


def test_password_sign_in_can_be_kept_for_the_break_glass_owner_only(settings):
    settings.PASSWORD_LOGIN_DISABLED = True
    settings.BREAK_GLASS_USERNAME = "glass-owner"
    UserFactory(username="alice", role=Role.ADMIN)
    UserFactory(username="glass-owner", role=Role.OPERATOR)

    refused = Client().post(reverse("login"), {"username": "alice", "password": STAFF_PASSWORD})
    assert refused.status_code == 200
    assert "Password sign-in is turned off" in refused.context["form"].non_field_errors()[0]
    assert AuditEvent.objects.filter(action="auth.password_refused", actor_label="alice").exists()

    allowed = Client().post(
        reverse("login"), {"username": "glass-owner", "password": STAFF_PASSWORD}
    )
    assert allowed.status_code == 302
