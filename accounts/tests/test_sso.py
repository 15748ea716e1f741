"""OpenID Connect single sign-on against a real provider (django-oauth-toolkit, started here in
its own process): the round trip with role mapping and just-in-time creation, and every bad
callback refused with a clear message and an audit row."""

import html
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from common.models import AuditEvent
from testing.oidc_provider import CLIENT_ID, CLIENT_SECRET, USERS
from testing.wait import wait_until

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]
CALLBACK = "http://testserver/accounts/oidc/sso/login/callback/"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "testing.oidc_provider",
            "--port",
            str(port),
            "--db",
            str(tmp_path_factory.mktemp("oidc") / "provider.sqlite3"),
            "--redirect-uri",
            CALLBACK,
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: _answers(f"{base}/o/.well-known/openid-configuration"),
            timeout=60,
            what="the test OpenID Connect provider to answer",
        )
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def sso(settings, provider):
    """The portal configured for the provider, as the OIDC_* variables would configure it."""
    issuer = f"{provider}/o"
    settings.OIDC_ISSUER = issuer
    settings.OIDC_PROVIDER_NAME = "Test IdP"
    settings.OIDC_ROLE_GROUPS = {"owner": "portal-owners", "operator": "portal-operators;ops"}
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            **settings.SOCIALACCOUNT_PROVIDERS["openid_connect"],
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Test IdP",
                    "client_id": CLIENT_ID,
                    "secret": CLIENT_SECRET,
                    "settings": {"server_url": issuer},
                }
            ],
        }
    }
    yield provider
    requests.post(f"{provider}/_faults/", json={}, timeout=5)


def _faults(provider: str, **faults: bool) -> None:
    requests.post(f"{provider}/_faults/", json=faults, timeout=5).raise_for_status()


def _authorize(provider: str, authorize_url: str, username: str) -> str:
    """What the person does at the provider: sign in, be sent back. Returns the callback URL."""
    browser = requests.Session()
    signed_in = browser.post(
        f"{provider}/login/",
        data={"username": username, "password": USERS[username][0]},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 302
    answer = browser.get(authorize_url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    assert answer.headers["Location"].startswith(CALLBACK)
    return answer.headers["Location"]


def _start(client: Client) -> str:
    response = client.post(reverse("openid_connect_login", args=["sso"]))
    assert response.status_code == 302
    return response.url


def _callback(client: Client, callback_url: str):
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}")


def _with_param(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | params
    return urlunsplit(parts._replace(query=urlencode(query)))


def _sign_in(client: Client, provider: str, username: str):
    return _callback(client, _authorize(provider, _start(client), username))


def test_the_sign_in_page_offers_sso(client, sso):
    page = client.get(reverse("login"))
    assert b"Sign in with Test IdP" in page.content


def test_first_sign_in_creates_the_staff_member_with_the_role_of_their_group(client, sso):
    authorize_url = _start(client)
    query = parse_qs(urlsplit(authorize_url).query)
    assert {"nonce", "state", "code_challenge"} <= set(query)

    response = _callback(client, _authorize(sso, authorize_url, "ann"))
    assert response.status_code == 302, response.content[:500]
    ann = User.objects.get(username="ann")
    assert ann.role == Role.OWNER
    assert ann.email == "ann@partner.example"
    assert not ann.has_usable_password()
    assert client.session["_auth_user_id"] == str(ann.pk)
    assert AuditEvent.objects.filter(action="staff.create_from_sso", actor=ann).exists()
    assert AuditEvent.objects.filter(action="auth.login", actor=ann).exists()
    # An owner, so a second factor is enrolled next (no password to re-enter first).
    assert client.get(reverse("dashboard")).url == reverse("mfa_activate_totp")
    assert client.get(reverse("mfa_activate_totp")).status_code == 200


def test_a_later_sign_in_takes_the_role_from_the_groups_again(sso):
    assert _sign_in(Client(), sso, "otto").status_code == 302
    otto = User.objects.get(username="otto")
    assert otto.role == Role.OPERATOR
    User.objects.filter(pk=otto.pk).update(role=Role.SUPPORT)

    assert _sign_in(Client(), sso, "otto").status_code == 302
    otto.refresh_from_db()
    assert otto.role == Role.OPERATOR
    event = AuditEvent.objects.get(action="staff.role_from_sso")
    assert (event.before, event.after) == ({"role": "support"}, {"role": "operator"})
    assert User.objects.filter(username__startswith="otto").count() == 1


def _assert_refused(response, words: str):
    assert response.status_code == 403, response.content[:500]
    assert words in html.unescape(response.content.decode())
    assert "_auth_user_id" not in response.wsgi_request.session
    event = AuditEvent.objects.get(action="auth.sso_refused")
    assert event.outcome == AuditEvent.Outcome.DENIED
    assert words in event.message
    assert CLIENT_SECRET not in event.message


def test_a_callback_with_an_unknown_state_is_refused(client, sso):
    callback_url = _authorize(sso, _start(client), "ann")
    response = _callback(client, _with_param(callback_url, state="forged-state"))
    _assert_refused(response, "could not be matched to one this portal started")
    assert not User.objects.filter(username="ann").exists()


def test_a_replayed_callback_is_refused(client, sso):
    callback_url = _authorize(sso, _start(client), "otto")
    assert _callback(client, callback_url).status_code == 302
    client.post(reverse("logout"))
    _assert_refused(_callback(client, callback_url), "unknown, used or expired state")


def test_a_code_issued_for_another_nonce_is_refused(client, sso):
    authorize_url = _with_param(_start(client), nonce="the-attackers-nonce")
    response = _callback(client, _authorize(sso, authorize_url, "ann"))
    _assert_refused(response, "nonce does not match")
    assert not User.objects.filter(username="ann").exists()


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("issuer", "Invalid issuer"),
        ("audience", "Audience doesn't match"),
        ("signature", "Signature verification failed"),
        ("no_groups", "sent no 'groups' claim"),
    ],
)
def test_an_id_token_that_fails_a_check_is_refused(client, sso, fault, words):
    _faults(sso, **{fault: True})
    response = _sign_in(client, sso, "ann")
    _assert_refused(response, words)
    assert not User.objects.filter(username="ann").exists()


def test_a_person_in_no_mapped_group_is_refused(client, sso):
    _assert_refused(_sign_in(client, sso, "nina"), "None of your groups")
    assert not User.objects.filter(username="nina").exists()


def test_a_portal_second_factor_is_still_asked_after_sso(sso):
    from allauth.mfa.models import Authenticator

    assert _sign_in(Client(), sso, "ann").status_code == 302
    ann = User.objects.get(username="ann")
    Authenticator.objects.create(user=ann, type=Authenticator.Type.WEBAUTHN, data={})

    client = Client()
    response = _sign_in(client, sso, "ann")
    assert response.url == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
