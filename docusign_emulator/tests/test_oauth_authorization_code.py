"""Authorization Code Grant: consent page over HTTP, PKCE, code binding (API.md 1.2, 1.3)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from docusign_emulator.oauth import pkce_challenge
from docusign_emulator.testing import (
    TEST_ADMIN_EMAIL,
    TEST_ADMIN_PASSWORD,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_REDIRECT_URI,
)
from docusign_emulator.tests.conftest import web

RFC7636_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
# RFC 7636 Appendix B. (The issue quoted "...K1t7URW-Cs1Za3H5sM", which is not the RFC's value.)
RFC7636_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def auth_url(server, **overrides) -> str:
    params = {
        "response_type": "code",
        "scope": "signature extended",
        "client_id": TEST_CLIENT_ID,
        "redirect_uri": TEST_REDIRECT_URI,
        "state": "st-123",
    }
    params.update(overrides)
    params = {k: v for k, v in params.items() if v is not None}
    return f"{server.url}/oauth/auth?{urlencode(params)}"


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html)[1]


def sign_in(session, server, url, email=TEST_ADMIN_EMAIL, password=TEST_ADMIN_PASSWORD):
    page = session.get(url, allow_redirects=False)
    assert page.status_code == 200
    assert 'name="email"' in page.text
    assert 'name="password"' in page.text
    assert ">Sign in</button>" in page.text
    return session.post(
        f"{server.url}/oauth/auth",
        data={
            "auth_request": hidden(page.text, "auth_request"),
            "step": "login",
            "email": email,
            "password": password,
        },
        allow_redirects=False,
    )


def decide(session, server, consent_page, decision):
    return session.post(
        f"{server.url}/oauth/auth",
        data={
            "auth_request": hidden(consent_page.text, "auth_request"),
            "step": "consent",
            "decision": decision,
        },
        allow_redirects=False,
    )


def redirected_params(resp) -> dict[str, str]:
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith(TEST_REDIRECT_URI)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(server, **overrides) -> str:
    session = requests.Session()
    consent = sign_in(session, server, auth_url(server, **overrides))
    if consent.status_code == 302:  # consent already remembered
        return redirected_params(consent)["code"]
    return redirected_params(decide(session, server, consent, "allow"))["code"]


def exchange(server, code, *, auth=(TEST_CLIENT_ID, TEST_CLIENT_SECRET), **form):
    return web.post(
        f"{server.url}/oauth/token",
        data={"grant_type": "authorization_code", "code": code, **form},
        auth=auth,
    )


def test_pkce_challenge_matches_rfc7636_example():
    assert pkce_challenge(RFC7636_VERIFIER) == RFC7636_CHALLENGE


def test_consent_flow_over_http_redirects_with_code_and_state(emulator, emulator_server):
    session = requests.Session()
    consent = sign_in(session, emulator_server, auth_url(emulator_server))
    assert consent.status_code == 200
    assert 'name="decision" value="allow">Allow access</button>' in consent.text
    assert 'name="decision" value="deny">Deny</button>' in consent.text
    assert "signature" in consent.text
    params = redirected_params(decide(session, emulator_server, consent, "allow"))
    assert params["state"] == "st-123"
    token = exchange(emulator_server, params["code"])
    assert token.status_code == 200
    body = token.json()
    assert list(body) == ["access_token", "token_type", "refresh_token", "expires_in"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 28800
    info = web.get(
        f"{emulator_server.url}/oauth/userinfo",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    ).json()
    assert info["sub"] == TEST_ADMIN_USER_ID


def test_remembered_consent_and_signed_in_browser_skip_both_pages(emulator, emulator_server):
    session = requests.Session()
    consent = sign_in(session, emulator_server, auth_url(emulator_server))
    redirected_params(decide(session, emulator_server, consent, "allow"))
    again = session.get(auth_url(emulator_server, state="second"), allow_redirects=False)
    params = redirected_params(again)
    assert params["state"] == "second"
    assert "code" in params


def test_prompt_login_forces_sign_in_but_not_consent(emulator, emulator_server):
    session = requests.Session()
    consent = sign_in(session, emulator_server, auth_url(emulator_server))
    redirected_params(decide(session, emulator_server, consent, "allow"))
    page = session.get(auth_url(emulator_server, prompt="login"), allow_redirects=False)
    assert page.status_code == 200
    assert 'name="password"' in page.text
    after = sign_in(session, emulator_server, auth_url(emulator_server, prompt="login"))
    assert "code" in redirected_params(after)


def test_new_scope_set_prompts_again(emulator, emulator_server):
    session = requests.Session()
    consent = sign_in(session, emulator_server, auth_url(emulator_server))
    redirected_params(decide(session, emulator_server, consent, "allow"))
    page = session.get(auth_url(emulator_server, scope="signature impersonation"))
    assert 'value="allow"' in page.text


def test_denial_redirects_with_access_denied_and_state(emulator, emulator_server):
    session = requests.Session()
    consent = sign_in(session, emulator_server, auth_url(emulator_server))
    params = redirected_params(decide(session, emulator_server, consent, "deny"))
    assert params["error"] == "access_denied"
    assert params["state"] == "st-123"
    assert "code" not in params


def test_wrong_password_shows_the_form_again(emulator, emulator_server):
    resp = sign_in(requests.Session(), emulator_server, auth_url(emulator_server), password="nope")
    assert resp.status_code == 200
    assert "Username or password is incorrect." in resp.text
    assert 'name="password"' in resp.text


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://evil.example/consent/callback/",
        "http://testserver/consent/callback",  # no normalisation: the slash matters
        "http://testserver/consent/callback/?x=1",
    ],
)
def test_unregistered_redirect_uri_gets_error_page_never_a_redirect(
    emulator, emulator_server, redirect_uri
):
    resp = web.get(auth_url(emulator_server, redirect_uri=redirect_uri), allow_redirects=False)
    assert resp.status_code == 400
    assert "Location" not in resp.headers
    assert "text/html" in resp.headers["Content-Type"]


def test_unknown_client_gets_error_page(emulator, emulator_server):
    resp = web.get(auth_url(emulator_server, client_id="nope"), allow_redirects=False)
    assert resp.status_code == 400
    assert "Location" not in resp.headers


def test_implicit_grant_is_not_offered(emulator, emulator_server):
    resp = web.get(auth_url(emulator_server, response_type="token"), allow_redirects=False)
    assert resp.status_code == 400
    assert "Location" not in resp.headers
    assert "unsupported_response_type" in resp.text


def test_consent_page_escapes_html(emulator, emulator_server):
    emulator.seed(
        integration_keys=[
            {
                "client_id": "xss-key",
                "secret": "s",
                "name": "<script>alert(1)</script>",
                "redirect_uris": [TEST_REDIRECT_URI],
            }
        ]
    )
    page = web.get(auth_url(emulator_server, client_id="xss-key"))
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_code_is_single_use(emulator, emulator_server):
    code = get_code(emulator_server)
    assert exchange(emulator_server, code).status_code == 200
    again = exchange(emulator_server, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_code_expires_after_two_minutes(emulator, emulator_server):
    code = get_code(emulator_server)
    emulator.advance_clock(121)
    resp = exchange(emulator_server, code)
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant"


def test_code_ttl_is_configurable(emulator, emulator_server):
    emulator.config(code_ttl_s=600)
    code = get_code(emulator_server)
    emulator.advance_clock(300)
    assert exchange(emulator_server, code).status_code == 200


def test_wrong_secret_is_unauthorized_client(emulator, emulator_server):
    resp = exchange(emulator_server, get_code(emulator_server), auth=(TEST_CLIENT_ID, "wrong"))
    assert resp.status_code == 400
    assert resp.json() == {"error": "invalid_grant", "error_description": "unauthorized_client"}


def test_code_is_bound_to_client(emulator, emulator_server):
    emulator.seed(integration_keys=[{"client_id": "other", "secret": "other-secret"}])
    resp = exchange(emulator_server, get_code(emulator_server), auth=("other", "other-secret"))
    assert resp.json()["error_description"] == "unauthorized_client"


def test_code_is_bound_to_redirect_uri(emulator, emulator_server):
    resp = exchange(
        emulator_server, get_code(emulator_server), redirect_uri="http://testserver/other/"
    )
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant"


def test_confidential_client_with_pkce_needs_the_right_verifier(emulator, emulator_server):
    code = get_code(emulator_server, code_challenge=RFC7636_CHALLENGE, code_challenge_method="S256")
    wrong = exchange(emulator_server, code, code_verifier="x" * 43)
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    code = get_code(emulator_server, code_challenge=RFC7636_CHALLENGE, code_challenge_method="S256")
    assert exchange(emulator_server, code, code_verifier=RFC7636_VERIFIER).status_code == 200


def test_public_client_pkce_variant_without_basic(emulator, emulator_server):
    code = get_code(emulator_server, code_challenge=RFC7636_CHALLENGE, code_challenge_method="S256")
    resp = exchange(
        emulator_server, code, auth=None, client_id=TEST_CLIENT_ID, code_verifier=RFC7636_VERIFIER
    )
    assert resp.status_code == 200
    assert "refresh_token" in resp.json()


def test_public_client_without_pkce_is_refused(emulator, emulator_server):
    resp = exchange(emulator_server, get_code(emulator_server), auth=None, client_id=TEST_CLIENT_ID)
    assert resp.status_code == 400
    assert resp.json()["error_description"] == "unauthorized_client"


def test_plain_pkce_method_is_refused_by_redirect(emulator, emulator_server):
    resp = web.get(
        auth_url(emulator_server, code_challenge=RFC7636_VERIFIER, code_challenge_method="plain"),
        allow_redirects=False,
    )
    params = redirected_params(resp)
    assert params["error"] == "invalid_request"
    assert params["state"] == "st-123"
