import pytest
from django.urls import reverse

from accounts.roles import Role
from accounts.tests.factories import STAFF_PASSWORD, UserFactory
from common.models import AuditEvent

pytestmark = pytest.mark.django_db


def _login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_login_page_renders_a_real_form(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


def test_login_with_right_password_signs_in_and_audits(client):
    user = UserFactory(username="alice", role=Role.OPERATOR)
    response = _login(client, "alice", STAFF_PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("dashboard")
    event = AuditEvent.objects.get(action="auth.login")
    assert event.actor == user
    assert event.outcome == AuditEvent.Outcome.SUCCESS
    assert event.request_id


def test_wrong_password_and_unknown_user_get_the_same_message(client):
    UserFactory(username="bob")
    wrong_password = _login(client, "bob", "not the password")
    unknown_user = _login(client, "nobody-here", "not the password")
    assert wrong_password.status_code == unknown_user.status_code == 200
    message_wrong = wrong_password.context["form"].non_field_errors()
    message_unknown = unknown_user.context["form"].non_field_errors()
    assert message_wrong == message_unknown
    assert "correct username and password" in message_wrong[0]
    failures = AuditEvent.objects.filter(action="auth.login_failed")
    assert {e.actor_label for e in failures} == {"bob", "nobody-here"}
    assert all(e.outcome == AuditEvent.Outcome.FAILURE for e in failures)


def test_repeated_failures_lock_the_account_out_even_with_the_right_password(client, settings):
    UserFactory(username="carol")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "carol", "wrong password")
    locked = _login(client, "carol", STAFF_PASSWORD)
    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.locked_out", actor_label="carol").exists()


def test_lockout_ends_after_the_cooloff(client, settings):
    from datetime import timedelta

    from axes.models import AccessAttempt

    UserFactory(username="dave")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "dave", "wrong password")
    assert _login(client, "dave", STAFF_PASSWORD).status_code == 429
    # Age the recorded attempts past the cool-off instead of sleeping.
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= settings.AXES_COOLOFF_TIME + timedelta(seconds=1)
        attempt.save()
    assert _login(client, "dave", STAFF_PASSWORD).status_code == 302


def test_logout_is_a_post_and_audited(client):
    user = UserFactory(username="erin")
    client.force_login(user)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.logout", actor=user).exists()


def test_staff_pages_need_sign_in(client):
    response = client.get(reverse("audit-list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_password_change_works_and_is_audited(client):
    user = UserFactory(username="frank")
    client.force_login(user)
    new_password = "a much longer new passphrase 7"
    response = client.post(
        reverse("password-change"),
        {
            "old_password": STAFF_PASSWORD,
            "new_password1": new_password,
            "new_password2": new_password,
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new_password)
    assert AuditEvent.objects.filter(action="auth.password_change", actor=user).exists()


def test_session_cookie_is_lax_and_http_only(client, settings):
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"
    UserFactory(username="gina")
    response = _login(client, "gina", STAFF_PASSWORD)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"] is True
