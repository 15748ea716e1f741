"""Security keys and passkeys in a real browser: Debian's Chromium with the DevTools virtual
authenticator (a software FIDO2 key) driven through Playwright's CDP session."""

import base64
import secrets

import pytest
from allauth.mfa.models import Authenticator

from accounts.roles import Role
from accounts.tests.factories import STAFF_PASSWORD, UserFactory
from common import crypto
from common.models import AuditEvent
from testing.browser import requires_chromium

pytestmark = requires_chromium


@pytest.fixture
def page(browser, transactional_db):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    yield page
    context.close()


def _password_step(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def _sign_out(page, live_server) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")


def test_security_key_enrolment_second_factor_and_passkey_sign_in(page, live_server):
    kim = UserFactory(username="kim", role=Role.OWNER)

    # First sign-in of an owner: the enrolment page, and a passkey instead of an app.
    _password_step(page, live_server, "kim")
    page.wait_for_url(f"{live_server.url}/accounts/2fa/totp/activate/")
    page.get_by_role("link", name="Add one instead").click()
    page.get_by_label("Name").fill("Kim's laptop")
    page.get_by_label("Passwordless").check()
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_url(f"{live_server.url}/accounts/2fa/recovery-codes/")
    key = Authenticator.objects.get(user=kim, type=Authenticator.Type.WEBAUTHN)
    assert key.wrap().name == "Kim's laptop"
    assert key.wrap().is_passwordless
    assert AuditEvent.objects.filter(action="mfa.enrol", actor=kim, after__type="webauthn")
    page.get_by_role("link", name="Continue to the dashboard →").click()
    page.wait_for_url(f"{live_server.url}/")

    # Password, then the key as second factor.
    _sign_out(page, live_server)
    _password_step(page, live_server, "kim")
    page.wait_for_url(f"{live_server.url}/accounts/2fa/authenticate/")
    page.get_by_role("button", name="Use a security key").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_text("kim · Owner").is_visible()

    # The passkey alone.
    _sign_out(page, live_server)
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_text("kim · Owner").is_visible()


def test_an_assertion_by_another_users_key_is_refused(page, live_server):
    UserFactory(username="kim", role=Role.OWNER)
    lee = UserFactory(username="lee", role=Role.OWNER)
    Authenticator.objects.create(
        user=lee,
        type=Authenticator.Type.TOTP,
        data={"secret": crypto.encrypt(base64.b32encode(secrets.token_bytes(20)).decode())},
    )
    # Kim's passkey goes on this browser's authenticator.
    _password_step(page, live_server, "kim")
    page.get_by_role("link", name="Add one instead").click()
    page.get_by_label("Name").fill("Shared laptop")
    page.get_by_label("Passwordless").check()
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_url(f"{live_server.url}/accounts/2fa/recovery-codes/")
    _sign_out(page, live_server)

    # Lee's password, then the only key this browser has: Kim's.
    _password_step(page, live_server, "lee")
    page.wait_for_url(f"{live_server.url}/accounts/2fa/authenticate/")
    page.get_by_role("button", name="Use a security key").click()
    page.get_by_text("Incorrect code").wait_for()
    assert page.url == f"{live_server.url}/accounts/2fa/authenticate/"
    assert AuditEvent.objects.filter(action="auth.mfa_failed", actor_label="lee").exists()
    assert not AuditEvent.objects.filter(action="auth.login", actor=lee).exists()
