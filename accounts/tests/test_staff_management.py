import pytest
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from common.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_owner_adds_a_staff_member_with_a_role(staff_client):
    client = staff_client(Role.OWNER)
    response = client.post(
        reverse("staff-list"),
        {
            "username": "newbie",
            "email": "newbie@partner.example",
            "role": Role.SUPPORT,
            "password": "a long enough password 123",
        },
    )
    assert response.status_code == 302
    member = User.objects.get(username="newbie")
    assert member.role == Role.SUPPORT
    event = AuditEvent.objects.get(action="staff.create")
    assert event.after == {"role": "support", "email": "newbie@partner.example"}
    assert "password" not in str(event.after)


def test_adding_staff_with_a_weak_password_shows_field_errors_and_stores_nothing(staff_client):
    client = staff_client(Role.OWNER)
    response = client.post(
        reverse("staff-list"),
        {"username": "weak", "email": "not-an-email", "role": Role.SUPPORT, "password": "123"},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "email" in form.errors
    assert "password" in form.errors
    assert not User.objects.filter(username="weak").exists()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR, Role.SUPPORT])
def test_only_owners_manage_staff_and_refusals_are_audited(staff_client, role):
    client = staff_client(role)
    response = client.post(
        reverse("staff-list"),
        {
            "username": "sneaky",
            "email": "s@partner.example",
            "role": Role.OWNER,
            "password": "a long enough password 123",
        },
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="sneaky").exists()
    denied = AuditEvent.objects.get(action="access.denied")
    assert denied.actor == client.user
    assert denied.outcome == AuditEvent.Outcome.DENIED
    assert "manage_staff" in denied.message


def test_owner_cannot_demote_themselves(staff_client):
    client = staff_client(Role.OWNER)
    response = client.post(
        reverse("staff-detail", kwargs={"user_id": client.user.pk}),
        {"role": Role.SUPPORT, "is_active": "on"},
    )
    assert response.status_code == 400
    client.user.refresh_from_db()
    assert client.user.role == Role.OWNER


def test_owner_changes_a_role(staff_client, make_staff):
    client = staff_client(Role.OWNER)
    member = make_staff(Role.SUPPORT)
    response = client.post(
        reverse("staff-detail", kwargs={"user_id": member.pk}),
        {"role": Role.OPERATOR, "is_active": "on"},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == Role.OPERATOR
    event = AuditEvent.objects.get(action="staff.update")
    assert event.before == {"role": "support", "is_active": True}
    assert event.after == {"role": "operator", "is_active": True}


def test_the_staff_list_shows_who_has_a_second_factor(staff_client, make_staff):
    from allauth.mfa.models import Authenticator

    client = staff_client(Role.OWNER)
    enrolled = make_staff(Role.ADMIN)
    Authenticator.objects.create(user=enrolled, type=Authenticator.Type.WEBAUTHN, data={})
    codes_only = make_staff(Role.OPERATOR)
    Authenticator.objects.create(user=codes_only, type=Authenticator.Type.RECOVERY_CODES, data={})

    users = client.get(reverse("staff-list")).context["users"]
    factor = {u.username: u.has_second_factor for u in users}
    assert factor == {
        client.user.username: False,
        enrolled.username: True,
        codes_only.username: False,
    }
