"""Refresh rotation, JWT bearer grant, userinfo, and bad input on the token endpoint
(API.md 1.4 to 1.7)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from docusign_emulator.testing import (
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_NON_ADMIN_USER_ID,
    TEST_PUBLIC_KEY_PEM,
)
from docusign_emulator.tests.conftest import assertion, web

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def token_call(server, data, *, auth=(TEST_CLIENT_ID, TEST_CLIENT_SECRET), **kw):
    return web.post(f"{server.url}/oauth/token", data=data, auth=auth, **kw)


def refresh(server, refresh_token):
    return token_call(server, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def jwt_grant(server, assertion_value):
    return token_call(server, {"grant_type": JWT_GRANT, "assertion": assertion_value}, auth=None)


def assert_grant_error(resp, error, description=None):
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    if description is not None:
        assert body["error_description"] == description


# --- refresh -------------------------------------------------------------------------------


def test_refresh_returns_a_new_refresh_token_every_time(emulator, emulator_server):
    first = emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID, ["signature", "extended"])
    resp = refresh(emulator_server, first["refresh_token"])
    assert resp.status_code == 200
    body = resp.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert body["expires_in"] == 28800


def test_lenient_rotation_keeps_the_old_refresh_token_valid(emulator, emulator_server):
    first = emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)
    assert refresh(emulator_server, first["refresh_token"]).status_code == 200
    assert refresh(emulator_server, first["refresh_token"]).status_code == 200


def test_strict_rotation_kills_the_old_token_and_reuse_revokes_the_family(
    emulator, emulator_server
):
    emulator.config(refresh_rotation="strict")
    first = emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)
    second = refresh(emulator_server, first["refresh_token"]).json()
    assert_grant_error(refresh(emulator_server, first["refresh_token"]), "invalid_grant")
    # The replay revoked the family: the newest refresh and its access token die too.
    assert_grant_error(refresh(emulator_server, second["refresh_token"]), "invalid_grant")
    info = web.get(
        f"{emulator_server.url}/oauth/userinfo",
        headers={"Authorization": f"Bearer {second['access_token']}"},
    )
    assert info.status_code == 401


def test_strict_rotation_keeps_at_most_five_unused_refresh_tokens_per_user(
    emulator, emulator_server
):
    emulator.config(refresh_rotation="strict")
    issued = [emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID) for _ in range(6)]
    other_user = emulator.issue_tokens(TEST_CLIENT_ID, TEST_NON_ADMIN_USER_ID)
    # Refreshing the newest uses it up and adds one: six unused would remain, so the oldest is
    # revoked; the other user's token belongs to another grant and is kept.
    assert refresh(emulator_server, issued[-1]["refresh_token"]).status_code == 200
    assert_grant_error(refresh(emulator_server, issued[0]["refresh_token"]), "invalid_grant")
    for kept in [*issued[1:5], other_user]:
        assert refresh(emulator_server, kept["refresh_token"]).status_code == 200


def test_refresh_without_extended_keeps_the_original_30_day_expiry(emulator, emulator_server):
    first = emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID, ["signature"])
    emulator.advance_clock(20 * 86400)
    second = refresh(emulator_server, first["refresh_token"]).json()
    emulator.advance_clock(11 * 86400)
    assert_grant_error(refresh(emulator_server, second["refresh_token"]), "invalid_grant")


def test_refresh_with_extended_renews_30_days(emulator, emulator_server):
    first = emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID, ["signature", "extended"])
    emulator.advance_clock(20 * 86400)
    second = refresh(emulator_server, first["refresh_token"]).json()
    emulator.advance_clock(11 * 86400)
    assert refresh(emulator_server, second["refresh_token"]).status_code == 200


def test_revoked_refresh_token_is_invalid_grant(emulator, emulator_server):
    first = emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)
    emulator.revoke_tokens(refresh_token=first["refresh_token"])
    assert_grant_error(refresh(emulator_server, first["refresh_token"]), "invalid_grant")


def test_refresh_with_wrong_client_secret_is_unauthorized_client(emulator, emulator_server):
    first = emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)
    resp = token_call(
        emulator_server,
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=(TEST_CLIENT_ID, "nope"),
    )
    assert_grant_error(resp, "invalid_grant", "unauthorized_client")


# --- JWT bearer ------------------------------------------------------------------------------


@pytest.fixture
def consented(emulator):
    emulator.grant_consent(TEST_ADMIN_USER_ID, TEST_CLIENT_ID, ["signature", "impersonation"])
    return emulator


def test_jwt_grant_gives_one_hour_and_no_refresh_token(consented, emulator_server):
    resp = jwt_grant(
        emulator_server, assertion(emulator_server, TEST_ADMIN_USER_ID, exp=int(time.time()) + 4000)
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["expires_in"] == 3600
    assert "refresh_token" not in body


def test_jwt_token_expires_after_an_hour(consented, emulator_server):
    token = jwt_grant(emulator_server, assertion(emulator_server, TEST_ADMIN_USER_ID)).json()
    consented.advance_clock(3601)
    info = web.get(
        f"{emulator_server.url}/oauth/userinfo",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert info.status_code == 401


def test_jwt_without_impersonation_consent_is_consent_required(emulator, emulator_server):
    resp = jwt_grant(emulator_server, assertion(emulator_server, TEST_NON_ADMIN_USER_ID))
    assert_grant_error(resp, "consent_required")


def test_revoked_consent_brings_back_consent_required(consented, emulator_server):
    consented.revoke_consent(TEST_ADMIN_USER_ID, TEST_CLIENT_ID)
    resp = jwt_grant(emulator_server, assertion(emulator_server, TEST_ADMIN_USER_ID))
    assert_grant_error(resp, "consent_required")


def test_jwt_signed_with_an_unregistered_key_is_no_valid_keys(consented, emulator_server):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    resp = jwt_grant(emulator_server, assertion(emulator_server, TEST_ADMIN_USER_ID, key=pem))
    assert_grant_error(resp, "invalid_grant", "no_valid_keys_or_signatures")
    # Registering that key (up to 5) makes the same assertion work.
    public = other.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    consented.add_public_key(TEST_CLIENT_ID, public)
    resp = jwt_grant(emulator_server, assertion(emulator_server, TEST_ADMIN_USER_ID, key=pem))
    assert resp.status_code == 200


def test_at_most_five_public_keys(emulator):
    for _ in range(4):
        emulator.add_public_key(TEST_CLIENT_ID, TEST_PUBLIC_KEY_PEM)
    with pytest.raises(RuntimeError, match="at most 5"):
        emulator.add_public_key(TEST_CLIENT_ID, TEST_PUBLIC_KEY_PEM)


def _unsigned(claims: dict, header: dict) -> str:
    def enc(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{enc(header)}.{enc(claims)}."


def test_alg_none_is_refused(consented, emulator_server):
    now = int(time.time())
    claims = {"iss": TEST_CLIENT_ID, "sub": TEST_ADMIN_USER_ID, "aud": emulator_server.auth_host,
              "iat": now, "exp": now + 3600, "scope": "signature impersonation"}  # fmt: skip
    resp = jwt_grant(emulator_server, _unsigned(claims, {"alg": "none", "typ": "JWT"}))
    assert_grant_error(resp, "invalid_grant", "no_valid_keys_or_signatures")


def test_hs256_with_the_public_key_as_secret_is_refused(consented, emulator_server):
    now = int(time.time())
    claims = {"iss": TEST_CLIENT_ID, "sub": TEST_ADMIN_USER_ID, "aud": emulator_server.auth_host,
              "iat": now, "exp": now + 3600}  # fmt: skip
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    import hashlib
    import hmac

    signing_input = header + b"." + payload
    sig = hmac.new(TEST_PUBLIC_KEY_PEM.encode(), signing_input, hashlib.sha256).digest()
    forged = (signing_input + b"." + base64.urlsafe_b64encode(sig).rstrip(b"=")).decode()
    resp = jwt_grant(emulator_server, forged)
    assert_grant_error(resp, "invalid_grant", "no_valid_keys_or_signatures")


def test_expired_assertion_is_refused(consented, emulator_server):
    now = int(time.time())
    resp = jwt_grant(
        emulator_server,
        assertion(emulator_server, TEST_ADMIN_USER_ID, iat=now - 7200, exp=now - 3600),
    )
    assert_grant_error(resp, "invalid_grant")


def test_wrong_aud_is_issuer_not_found(consented, emulator_server):
    for aud in ("account-d.docusign.com", f"https://{emulator_server.auth_host}"):
        resp = jwt_grant(emulator_server, assertion(emulator_server, TEST_ADMIN_USER_ID, aud=aud))
        assert_grant_error(resp, "invalid_grant", "issuer_not_found")


def test_unknown_issuer_is_issuer_not_found(consented, emulator_server):
    resp = jwt_grant(emulator_server, assertion(emulator_server, TEST_ADMIN_USER_ID, iss="nope"))
    assert_grant_error(resp, "invalid_grant", "issuer_not_found")


def test_unknown_sub_is_user_not_found(consented, emulator_server):
    resp = jwt_grant(
        emulator_server, assertion(emulator_server, "00000000-0000-0000-0000-000000000000")
    )
    assert_grant_error(resp, "invalid_grant", "user_not_found")


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.AAAA"])
def test_garbage_assertions_are_refused(consented, emulator_server, garbage):
    assert_grant_error(jwt_grant(emulator_server, garbage), "invalid_grant")


# --- bad input ----------------------------------------------------------------------------


def test_unknown_grant_type_is_unsupported_grant_type(emulator, emulator_server):
    for grant in ("password", "client_credentials", ""):
        resp = token_call(emulator_server, {"grant_type": grant})
        assert_grant_error(resp, "invalid_grant", "unsupported_grant_type")


def test_duplicated_parameter_is_invalid_request(emulator, emulator_server):
    resp = web.post(
        f"{emulator_server.url}/oauth/token",
        data="grant_type=refresh_token&refresh_token=a&refresh_token=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_grant_error(resp, "invalid_request")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"grant_type=authorization_code&&=&code", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
        (b'{"grant_type": "authorization_code"}', "application/json"),
    ],
)
def test_malformed_bodies_get_the_oauth_error_shape(emulator, emulator_server, body, content_type):
    resp = web.post(
        f"{emulator_server.url}/oauth/token", data=body, headers={"Content-Type": content_type}
    )
    assert resp.status_code == 400
    assert set(resp.json()) == {"error", "error_description"}


def test_oversized_body_is_refused_and_the_server_keeps_serving(emulator, emulator_server):
    resp = web.post(
        f"{emulator_server.url}/oauth/token",
        data=b"grant_type=" + b"x" * (1024 * 1024 + 10),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 413
    assert set(resp.json()) == {"error", "error_description"}
    again = token_call(emulator_server, {"grant_type": "password"})
    assert again.status_code == 400


def test_malformed_basic_header_is_unauthorized_client(emulator, emulator_server):
    resp = web.post(
        f"{emulator_server.url}/oauth/token",
        data={"grant_type": "authorization_code", "code": "x"},
        headers={"Authorization": "Basic !!!notbase64"},
    )
    assert_grant_error(resp, "invalid_grant", "unauthorized_client")


# --- userinfo --------------------------------------------------------------------------------


def test_userinfo_lists_each_account_with_its_base_uri(emulator, emulator_server):
    token = emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)["access_token"]
    info = web.get(
        f"{emulator_server.url}/oauth/userinfo", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert [a["base_uri"] for a in info["accounts"]] == [
        emulator_server.base_uri("na3"),
        emulator_server.base_uri("eu"),
    ]
    assert [a["is_default"] for a in info["accounts"]] == [True, False]
    assert "organization" not in info["accounts"][1]


def test_userinfo_with_bad_token_is_401(emulator, emulator_server):
    resp = web.get(
        f"{emulator_server.url}/oauth/userinfo", headers={"Authorization": "Bearer nope"}
    )
    assert resp.status_code == 401
    assert set(resp.json()) == {"error", "error_description"}
