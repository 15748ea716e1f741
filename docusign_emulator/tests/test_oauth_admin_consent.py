"""Organization admin consent for an external application (API.md 7): `scope=openid` with
`admin_consent_scope`, then JWT for any user of the claimed domains."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from docusign_emulator.testing import (
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_ORG_SEED,
    TEST_ORGANIZATION_ID,
    TEST_OUTSIDER_USER_ID,
    TEST_SINGLE_ADMIN_EMAIL,
    TEST_SINGLE_ADMIN_PASSWORD,
    TEST_SYSTEM_USER_ID,
)
from docusign_emulator.tests.conftest import assertion, web
from docusign_emulator.tests.test_oauth_authorization_code import auth_url, hidden, sign_in

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture
def org(emulator):
    emulator.seed(TEST_ORG_SEED)
    return emulator


def admin_url(server, **overrides):
    params = {"scope": "openid", "admin_consent_scope": "signature impersonation", **overrides}
    return auth_url(server, **params)


def jwt_token(server, user_id):
    return web.post(
        f"{server.url}/oauth/token",
        data={"grant_type": JWT_GRANT, "assertion": assertion(server, user_id)},
    )


def redirect_params(resp) -> dict[str, str]:
    assert resp.status_code == 302, resp.text[:300]
    return {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}


def allow(session, server, page):
    return session.post(
        f"{server.url}/oauth/auth",
        data={"auth_request": hidden(page.text, "auth_request"), "step": "consent",
              "decision": "allow"},
        allow_redirects=False,
    )  # fmt: skip


def test_org_admin_grant_lets_jwt_act_for_users_of_claimed_domains_only(org, emulator_server):
    assert jwt_token(emulator_server, TEST_SYSTEM_USER_ID).json()["error"] == "consent_required"
    session = requests.Session()
    page = sign_in(session, emulator_server, admin_url(emulator_server))
    assert page.status_code == 200
    assert "client.test" in page.text  # the claimed domains the grant covers
    assert "impersonation" in page.text
    params = redirect_params(allow(session, emulator_server, page))
    assert params["state"] == "st-123"
    assert params["code"]  # default: a code as for ACG

    # The code is exchangeable (openid only) and names the admin who granted it.
    token = web.post(
        f"{emulator_server.url}/oauth/token",
        data={"grant_type": "authorization_code", "code": params["code"]},
        auth=(TEST_CLIENT_ID, TEST_CLIENT_SECRET),
    ).json()
    info = web.get(
        f"{emulator_server.url}/oauth/userinfo",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    ).json()
    assert info["sub"] == TEST_ADMIN_USER_ID

    assert jwt_token(emulator_server, TEST_SYSTEM_USER_ID).status_code == 200
    outsider = jwt_token(emulator_server, TEST_OUTSIDER_USER_ID)
    assert outsider.status_code == 400
    assert outsider.json()["error"] == "consent_required"


def test_state_only_switch_sends_back_no_code(org, emulator_server):
    org.config(admin_consent_redirect="state_only")
    session = requests.Session()
    page = sign_in(session, emulator_server, admin_url(emulator_server))
    params = redirect_params(allow(session, emulator_server, page))
    assert params == {"state": "st-123"}
    assert jwt_token(emulator_server, TEST_SYSTEM_USER_ID).status_code == 200


def test_user_who_is_not_an_org_admin_is_sent_back_with_an_error(org, emulator_server):
    org.seed({"organizations": [{**TEST_ORG_SEED["organizations"][0], "admin_user_ids": []}]})
    resp = sign_in(requests.Session(), emulator_server, admin_url(emulator_server))
    params = redirect_params(resp)
    assert params["error"] == "unauthorized_client"
    assert "organization administrator" in params["error_description"]


def test_org_without_claimed_domain_is_refused(org, emulator_server):
    resp = sign_in(
        requests.Session(),
        emulator_server,
        admin_url(emulator_server),
        email=TEST_SINGLE_ADMIN_EMAIL,
        password=TEST_SINGLE_ADMIN_PASSWORD,
    )
    params = redirect_params(resp)
    assert params["error"] == "invalid_request"
    assert "claimed domain" in params["error_description"]


def test_admin_consent_scope_without_openid_is_invalid_scope(org, emulator_server):
    resp = web.get(
        admin_url(emulator_server, scope="signature"), allow_redirects=False
    )  # fmt: skip
    assert redirect_params(resp)["error"] == "invalid_scope"


def test_revoking_the_org_grant_brings_consent_required_back(org, emulator_server):
    org.grant_org_consent(TEST_ORGANIZATION_ID, TEST_CLIENT_ID)
    assert jwt_token(emulator_server, TEST_SYSTEM_USER_ID).status_code == 200
    assert org.revoke_org_consent(TEST_ORGANIZATION_ID, TEST_CLIENT_ID)["revoked"] == [
        "impersonation",
        "signature",
    ]
    assert jwt_token(emulator_server, TEST_SYSTEM_USER_ID).json()["error"] == "consent_required"
