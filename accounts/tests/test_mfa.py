"""Second factors: enrolment required of owners and admins, sign-in with TOTP codes and one-time
recovery codes, the django-axes lockout for wrong codes, removal and an owner's reset."""

import base64
import secrets

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.test import Client
from django.urls import reverse

from accounts.roles import Role
from accounts.tests.factories import STAFF_PASSWORD, UserFactory
from common import crypto
from common.models import AuditEvent
from testing.totp import totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _one_step_of_clock_drift(settings):
    # A code computed just before a 30-second boundary is still accepted just after it, so the
    # tests never depend on when they run; a used code stays refused over the whole window.
    settings.MFA_TOTP_TOLERANCE = 1


def _password_login(client, user):
    return client.post(reverse("login"), {"username": user.username, "password": STAFF_PASSWORD})


def _with_totp(user) -> str:
    secret = base64.b32encode(secrets.token_bytes(20)).decode()
    Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": crypto.encrypt(secret)}
    )
    return secret


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_owner_enrols_an_authenticator_app_at_first_sign_in(
    client, django_capture_on_commit_callbacks
):
    owner = UserFactory(role=Role.OWNER)
    assert _password_login(client, owner).status_code == 302

    # Every staff page leads to the enrolment page until a factor is enrolled.
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")
    page = client.get(response.url)
    assert page.status_code == 200
    assert b"Set up an authenticator app" in page.content
    secret = page.context["form"].secret

    wrong = client.post(reverse("mfa_activate_totp"), {"code": "000000"})
    assert wrong.status_code == 200
    assert not Authenticator.objects.filter(user=owner).exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert done.status_code == 302
    assert done.url == reverse("mfa_view_recovery_codes")
    types = set(Authenticator.objects.filter(user=owner).values_list("type", flat=True))
    assert types == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}
    # The secret is encrypted at rest with the portal's keys.
    stored = Authenticator.objects.get(user=owner, type=Authenticator.Type.TOTP).data["secret"]
    assert secret not in stored
    assert crypto.decrypt(stored) == secret
    enrolled = AuditEvent.objects.filter(action="mfa.enrol", actor=owner)
    assert {e.after["type"] for e in enrolled} == {"totp", "recovery_codes"}
    assert client.get(reverse("dashboard")).status_code == 200


def test_operator_is_not_asked_to_enrol_unless_the_setting_says_every_role(settings):
    operator = UserFactory(role=Role.OPERATOR)
    relaxed = Client()
    _password_login(relaxed, operator)
    assert relaxed.get(reverse("dashboard")).status_code == 200

    settings.MFA_REQUIRED_ROLES = ["owner", "admin", "operator", "support"]
    strict = Client()
    _password_login(strict, operator)
    assert strict.get(reverse("dashboard")).url == reverse("mfa_activate_totp")


def test_sign_in_with_a_totp_code_and_a_replayed_code_is_refused(client):
    owner = UserFactory(role=Role.OWNER)
    secret = _with_totp(owner)

    response = _password_login(client, owner)
    assert response.url == reverse("mfa_authenticate")
    assert not _signed_in(client), "the password alone does not sign in"
    code = totp_code(secret)
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302
    assert response.url == reverse("dashboard")
    assert _signed_in(client)
    assert AuditEvent.objects.filter(action="auth.login", actor=owner).exists()

    replay = Client()
    _password_login(replay, owner)
    refused = replay.post(reverse("mfa_authenticate"), {"code": code})
    assert refused.status_code == 200
    assert b"Incorrect code" in refused.content
    assert not _signed_in(replay)
    assert AuditEvent.objects.filter(action="auth.mfa_failed", actor_label=owner.username).exists()


def test_wrong_codes_lock_the_account_out_like_wrong_passwords(client, settings):
    owner = UserFactory(role=Role.OWNER)
    secret = _with_totp(owner)
    _password_login(client, owner)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(reverse("mfa_authenticate"), {"code": "123456"}).status_code == 200
    locked = client.post(reverse("mfa_authenticate"), {"code": "123456"})
    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content
    # The right code no longer helps during the cool-off, and the password step refuses too.
    still_locked = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert still_locked.status_code == 429
    assert not _signed_in(client)
    assert _password_login(Client(), owner).status_code == 429
    failures = AuditEvent.objects.filter(action="auth.mfa_failed", actor_label=owner.username)
    assert failures.count() == settings.AXES_FAILURE_LIMIT
    assert AuditEvent.objects.filter(action="auth.locked_out", actor_label=owner.username).exists()


def test_a_recovery_code_signs_in_once_only(client):
    owner = UserFactory(role=Role.OWNER)
    _with_totp(owner)
    recovery = RecoveryCodes.activate(owner)
    code = recovery.get_unused_codes()[0]

    _password_login(client, owner)
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302
    assert _signed_in(client)
    recovery.instance.refresh_from_db()
    assert code not in RecoveryCodes(recovery.instance).get_unused_codes()
    assert AuditEvent.objects.filter(action="mfa.recovery_code_used", target_id=owner.pk).exists()

    again = Client()
    _password_login(again, owner)
    refused = again.post(reverse("mfa_authenticate"), {"code": code})
    assert refused.status_code == 200
    assert b"Incorrect code" in refused.content
    assert not _signed_in(again)


def test_removing_a_factor_is_audited_and_an_owner_keeps_the_last_one(
    client, django_capture_on_commit_callbacks
):
    operator = UserFactory(role=Role.OPERATOR)
    secret = _with_totp(operator)
    _password_login(client, operator)
    client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=operator).exists()
    assert AuditEvent.objects.get(action="mfa.remove", actor=operator).before["type"] == "totp"

    owner = UserFactory(role=Role.OWNER)
    owner_secret = _with_totp(owner)
    owner_client = Client()
    _password_login(owner_client, owner)
    owner_client.post(reverse("mfa_authenticate"), {"code": totp_code(owner_secret)})
    refused = owner_client.post(reverse("mfa_deactivate_totp"))
    assert refused.status_code == 200
    assert b"cannot deactivate" in refused.content
    assert Authenticator.objects.filter(user=owner, type=Authenticator.Type.TOTP).exists()


def test_an_owner_resets_the_factors_of_a_member_who_lost_them(client):
    admin = UserFactory(role=Role.ADMIN)
    secret = _with_totp(admin)
    RecoveryCodes.activate(admin)
    admin_client = Client()
    _password_login(admin_client, admin)
    admin_client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert admin_client.get(reverse("dashboard")).status_code == 200

    owner = UserFactory(role=Role.OWNER)
    client.force_login(owner)
    response = client.post(reverse("staff-mfa-reset", kwargs={"user_id": admin.pk}))
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=admin).exists()
    event = AuditEvent.objects.get(action="mfa.reset")
    assert event.actor == owner
    assert set(event.before["factors"]) == {"totp", "recovery_codes"}
    # The member is signed out and enrols again at the next sign-in.
    assert admin_client.get(reverse("dashboard")).status_code == 302
    fresh = Client()
    _password_login(fresh, admin)
    assert fresh.get(reverse("dashboard")).url == reverse("mfa_activate_totp")


def test_an_owner_cannot_reset_their_own_factors(client):
    owner = UserFactory(role=Role.OWNER)
    _with_totp(owner)
    client.force_login(owner)
    response = client.post(reverse("staff-mfa-reset", kwargs={"user_id": owner.pk}), follow=True)
    assert b"Another owner must reset" in response.content
    assert Authenticator.objects.filter(user=owner).exists()


def test_key_rotation_re_encrypts_totp_secrets_and_recovery_seeds(settings, capsys):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    owner = UserFactory(role=Role.OWNER)
    secret = _with_totp(owner)
    RecoveryCodes.activate(owner)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]

    call_command("rotate_encryption_keys")
    assert "mfa.Authenticator: 2 rows checked, 2 values moved" in capsys.readouterr().out
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    stored = Authenticator.objects.get(user=owner, type=Authenticator.Type.TOTP).data["secret"]
    assert crypto.decrypt(stored) == secret


def test_the_admin_signs_people_in_through_the_portal_sign_in(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
