"""OAuth against the emulator's account server: consent URLs, the three grants, userinfo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from docusign_api import (
    DocuSignAuthError,
    DocuSignClient,
    DocuSignConsentRequired,
    DocuSignInvalidGrant,
    DocuSignUnavailable,
    RetryPolicy,
    TokenSet,
)
from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ACCOUNT_1_SHARD,
    TEST_ACCOUNT_2_ID,
    TEST_ADMIN_EMAIL,
    TEST_ADMIN_PASSWORD,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_ORGANIZATION_ID,
    TEST_PRIVATE_KEY_PEM,
    TEST_REDIRECT_URI,
    TEST_SINGLE_ADMIN_EMAIL,
    TEST_SINGLE_ADMIN_PASSWORD,
    TEST_SINGLE_ADMIN_USER_ID,
)

from .conftest import authorize_in_browser

FIXED_NOW = datetime(2030, 5, 17, 12, 0, tzinfo=UTC)


def other_private_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


# -- consent URLs ------------------------------------------------------------------------


def test_authorization_url_carries_every_parameter_encoded(client):
    url = client.oauth.authorization_url(
        client_id=TEST_CLIENT_ID,
        redirect_uri="https://portal.example/consent/callback/?tenant=a&b=c",
        scopes=("signature", "extended"),
        state="st@te/1",
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        prompt="login",
        login_hint="admin@client.test",
    )

    assert url.startswith(f"{client.auth_base_url}/oauth/auth?")
    raw_query = urlsplit(url).query
    assert (
        "redirect_uri=https%3A%2F%2Fportal.example%2Fconsent%2Fcallback%2F%3Ftenant%3Da%26b%3Dc"
        in (raw_query)
    )
    assert "scope=signature%20extended" in raw_query
    assert query(url) == {
        "response_type": "code",
        "scope": "signature extended",
        "client_id": TEST_CLIENT_ID,
        "redirect_uri": "https://portal.example/consent/callback/?tenant=a&b=c",
        "state": "st@te/1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "prompt": "login",
        "login_hint": "admin@client.test",
    }


def test_authorization_url_without_pkce_sends_no_challenge_method(client):
    url = client.oauth.authorization_url(
        client_id=TEST_CLIENT_ID, redirect_uri=TEST_REDIRECT_URI, scopes=["signature"], state="s"
    )

    assert "code_challenge" not in query(url)
    assert "code_challenge_method" not in query(url)


def test_impersonation_consent_url_asks_for_signature_and_impersonation(client):
    url = client.oauth.impersonation_consent_url(
        client_id=TEST_CLIENT_ID, redirect_uri=TEST_REDIRECT_URI
    )

    assert query(url) == {
        "response_type": "code",
        "scope": "signature impersonation",
        "client_id": TEST_CLIENT_ID,
        "redirect_uri": TEST_REDIRECT_URI,
    }


def test_scopes_must_be_a_sequence_not_one_string(client):
    with pytest.raises(TypeError):
        client.oauth.authorization_url(
            client_id=TEST_CLIENT_ID, redirect_uri=TEST_REDIRECT_URI, scopes="signature", state="s"
        )


# -- authorization code grant ------------------------------------------------------------


def test_authorization_code_flow_with_pkce_through_the_consent_page(
    emulator_server, emulator, sleeps
):
    client = DocuSignClient(
        auth_base_url=emulator_server.url,
        session=requests.Session(),
        retry=RetryPolicy(sleep=sleeps),
        clock=lambda: FIXED_NOW,
    )
    pkce = client.oauth.new_pkce()
    url = client.oauth.authorization_url(
        client_id=TEST_CLIENT_ID,
        redirect_uri=TEST_REDIRECT_URI,
        scopes=("signature", "extended"),
        state="opaque-state-1",
        code_challenge=pkce.challenge,
    )

    redirect = authorize_in_browser(url, email=TEST_ADMIN_EMAIL, password=TEST_ADMIN_PASSWORD)
    tokens = client.oauth.exchange_code(
        client_id=TEST_CLIENT_ID,
        client_secret=TEST_CLIENT_SECRET,
        code=redirect["code"],
        code_verifier=pkce.verifier,
        redirect_uri=TEST_REDIRECT_URI,
    )

    assert redirect["state"] == "opaque-state-1"
    assert isinstance(tokens, TokenSet)
    assert tokens.token_type == "Bearer"
    assert tokens.refresh_token
    # 8 hours for ACG (API.md 1.3), counted from the injected clock.
    assert FIXED_NOW + timedelta(seconds=28790) <= tokens.expires_at
    assert tokens.expires_at <= FIXED_NOW + timedelta(seconds=28800)
    assert tokens.expires_at.tzinfo is UTC
    assert client.oauth.userinfo(tokens.access_token).sub == TEST_ADMIN_USER_ID


def consented_code(client, *, code_challenge=None) -> str:
    url = client.oauth.authorization_url(
        client_id=TEST_CLIENT_ID,
        redirect_uri=TEST_REDIRECT_URI,
        scopes=("signature",),
        state="s",
        code_challenge=code_challenge,
    )
    return authorize_in_browser(url, email=TEST_ADMIN_EMAIL, password=TEST_ADMIN_PASSWORD)["code"]


def test_exchange_with_the_wrong_verifier_is_a_terminal_invalid_grant(client):
    pkce, other = client.oauth.new_pkce(), client.oauth.new_pkce()
    code = consented_code(client, code_challenge=pkce.challenge)

    with pytest.raises(DocuSignInvalidGrant) as caught:
        client.oauth.exchange_code(
            client_id=TEST_CLIENT_ID,
            client_secret=TEST_CLIENT_SECRET,
            code=code,
            code_verifier=other.verifier,
        )

    assert caught.value.status == 400
    assert caught.value.error_code == "invalid_grant"
    assert caught.value.is_terminal


def test_a_code_is_single_use(client):
    code = consented_code(client)
    client.oauth.exchange_code(
        client_id=TEST_CLIENT_ID, client_secret=TEST_CLIENT_SECRET, code=code
    )

    with pytest.raises(DocuSignInvalidGrant):
        client.oauth.exchange_code(
            client_id=TEST_CLIENT_ID, client_secret=TEST_CLIENT_SECRET, code=code
        )


def test_a_wrong_client_secret_is_a_terminal_auth_error(client):
    code = consented_code(client)

    with pytest.raises(DocuSignAuthError) as caught:
        client.oauth.exchange_code(
            client_id=TEST_CLIENT_ID, client_secret="not-the-secret", code=code
        )

    # DocuSign reports bad client credentials as invalid_grant / unauthorized_client (API.md 1.6).
    assert caught.value.message == "unauthorized_client"
    assert caught.value.is_terminal
    assert "not-the-secret" not in str(caught.value)


# -- refresh -----------------------------------------------------------------------------


def test_refresh_returns_a_new_token_pair(client, admin_tokens):
    tokens = client.oauth.refresh(
        client_id=TEST_CLIENT_ID,
        client_secret=TEST_CLIENT_SECRET,
        refresh_token=admin_tokens["refresh_token"],
    )

    assert tokens.access_token != admin_tokens["access_token"]
    assert tokens.refresh_token not in (None, admin_tokens["refresh_token"])
    assert client.oauth.userinfo(tokens.access_token).sub == TEST_ADMIN_USER_ID


def test_refresh_of_a_revoked_token_is_a_terminal_invalid_grant(client, emulator, admin_tokens):
    emulator.revoke_tokens(refresh_token=admin_tokens["refresh_token"])

    with pytest.raises(DocuSignInvalidGrant) as caught:
        client.oauth.refresh(
            client_id=TEST_CLIENT_ID,
            client_secret=TEST_CLIENT_SECRET,
            refresh_token=admin_tokens["refresh_token"],
        )

    assert caught.value.is_terminal


def test_refresh_is_not_retried_on_503(client, emulator, admin_tokens, sleeps):
    emulator.fault("POST /oauth/token", status=503, count=2)
    emulator.reset_calls()

    with pytest.raises(DocuSignUnavailable) as caught:
        client.oauth.refresh(
            client_id=TEST_CLIENT_ID,
            client_secret=TEST_CLIENT_SECRET,
            refresh_token=admin_tokens["refresh_token"],
        )

    assert caught.value.status == 503
    assert not caught.value.is_terminal
    assert emulator.calls()["POST /oauth/token"] == 1
    assert emulator.calls()["POST /oauth/token refresh_token"] == 1
    assert sleeps == []


@pytest.mark.parametrize("kind", ["status", "reset", "html"])
def test_no_token_call_is_retried_whatever_the_failure(client, emulator, kind, sleeps):
    emulator.fault("POST /oauth/token", kind, status=503, count=3)
    emulator.reset_calls()

    with pytest.raises(DocuSignUnavailable):
        client.oauth.jwt_user_token(
            client_id=TEST_CLIENT_ID,
            user_id=TEST_ADMIN_USER_ID,
            private_key_pem=TEST_PRIVATE_KEY_PEM,
        )
    with pytest.raises(DocuSignUnavailable):
        client.oauth.exchange_code(
            client_id=TEST_CLIENT_ID, client_secret=TEST_CLIENT_SECRET, code="any-code"
        )

    assert emulator.calls()["POST /oauth/token"] == 2
    assert sleeps == []


# -- JWT bearer grant --------------------------------------------------------------------


def test_jwt_user_token_is_accepted_for_a_consented_user(client, emulator):
    emulator.grant_consent(TEST_ADMIN_USER_ID, TEST_CLIENT_ID)

    tokens = client.oauth.jwt_user_token(
        client_id=TEST_CLIENT_ID, user_id=TEST_ADMIN_USER_ID, private_key_pem=TEST_PRIVATE_KEY_PEM
    )

    assert tokens.refresh_token is None  # JWT grants never carry one (API.md 1.5)
    assert tokens.scopes == ("signature", "impersonation")
    now = datetime.now(UTC)
    assert now + timedelta(minutes=55) < tokens.expires_at <= now + timedelta(hours=1)
    assert client.oauth.userinfo(tokens.access_token).sub == TEST_ADMIN_USER_ID


def test_jwt_accepts_a_str_pem_and_a_short_lifetime(client, emulator):
    emulator.grant_consent(TEST_ADMIN_USER_ID, TEST_CLIENT_ID)

    tokens = client.oauth.jwt_user_token(
        client_id=TEST_CLIENT_ID,
        user_id=TEST_ADMIN_USER_ID,
        private_key_pem=TEST_PRIVATE_KEY_PEM.decode("ascii"),
        lifetime_s=300,
    )

    assert tokens.access_token


def test_jwt_signed_with_the_wrong_key_is_refused(client, emulator):
    emulator.grant_consent(TEST_ADMIN_USER_ID, TEST_CLIENT_ID)

    with pytest.raises(DocuSignInvalidGrant) as caught:
        client.oauth.jwt_user_token(
            client_id=TEST_CLIENT_ID,
            user_id=TEST_ADMIN_USER_ID,
            private_key_pem=other_private_key_pem(),
        )

    assert caught.value.error_code == "invalid_grant"
    assert caught.value.message == "no_valid_keys_or_signatures"
    assert caught.value.is_terminal


def test_jwt_without_consent_is_consent_required(client, emulator):
    emulator.revoke_consent(TEST_ADMIN_USER_ID, TEST_CLIENT_ID)

    with pytest.raises(DocuSignConsentRequired) as caught:
        client.oauth.jwt_user_token(
            client_id=TEST_CLIENT_ID,
            user_id=TEST_ADMIN_USER_ID,
            private_key_pem=TEST_PRIVATE_KEY_PEM,
        )

    assert caught.value.error_code == "consent_required"
    assert caught.value.is_terminal


def test_jwt_for_an_unknown_user_is_user_not_found(client):
    with pytest.raises(DocuSignInvalidGrant, match="user_not_found"):
        client.oauth.jwt_user_token(
            client_id=TEST_CLIENT_ID,
            user_id="00000000-0000-4000-8000-000000000000",
            private_key_pem=TEST_PRIVATE_KEY_PEM,
        )


def test_jwt_audience_is_the_bare_host_of_auth_base_url(emulator_server, emulator):
    emulator.grant_consent(TEST_ADMIN_USER_ID, TEST_CLIENT_ID)
    # Same server, another name: the assertion's aud no longer names the emulator's auth host.
    port = urlsplit(emulator_server.url).port
    aliased = DocuSignClient(auth_base_url=f"http://localhost:{port}")

    assert DocuSignClient(auth_base_url=emulator_server.url).oauth.auth_host == (
        emulator_server.auth_host
    )
    with pytest.raises(DocuSignInvalidGrant, match="issuer_not_found"):
        aliased.oauth.jwt_user_token(
            client_id=TEST_CLIENT_ID,
            user_id=TEST_ADMIN_USER_ID,
            private_key_pem=TEST_PRIVATE_KEY_PEM,
        )


@pytest.mark.parametrize("lifetime_s", [0, 3601])
def test_jwt_lifetime_is_at_most_one_hour(client, lifetime_s):
    with pytest.raises(ValueError, match="lifetime_s"):
        client.oauth.jwt_user_token(
            client_id=TEST_CLIENT_ID,
            user_id=TEST_ADMIN_USER_ID,
            private_key_pem=TEST_PRIVATE_KEY_PEM,
            lifetime_s=lifetime_s,
        )


def test_an_unusable_private_key_fails_without_quoting_it(client):
    bad_pem = (
        "-----BEGIN RSA PRIVATE KEY-----\nnot-a-key-material-0123\n-----END RSA PRIVATE KEY-----"
    )

    with pytest.raises(ValueError, match="PEM RSA private key") as caught:
        client.oauth.jwt_user_token(
            client_id=TEST_CLIENT_ID, user_id=TEST_ADMIN_USER_ID, private_key_pem=bad_pem
        )

    assert "not-a-key-material" not in str(caught.value)
    assert caught.value.__cause__ is None


def test_individual_consent_through_the_consent_page_enables_jwt(client):
    with pytest.raises(DocuSignConsentRequired):
        client.oauth.jwt_user_token(
            client_id=TEST_CLIENT_ID,
            user_id=TEST_SINGLE_ADMIN_USER_ID,
            private_key_pem=TEST_PRIVATE_KEY_PEM,
        )
    url = client.oauth.impersonation_consent_url(
        client_id=TEST_CLIENT_ID, redirect_uri=TEST_REDIRECT_URI, state="jwt-consent"
    )

    redirect = authorize_in_browser(
        url, email=TEST_SINGLE_ADMIN_EMAIL, password=TEST_SINGLE_ADMIN_PASSWORD
    )
    tokens = client.oauth.jwt_user_token(
        client_id=TEST_CLIENT_ID,
        user_id=TEST_SINGLE_ADMIN_USER_ID,
        private_key_pem=TEST_PRIVATE_KEY_PEM,
    )

    assert redirect["state"] == "jwt-consent"
    assert tokens.access_token


# -- userinfo ----------------------------------------------------------------------------


def test_userinfo_lists_accounts_with_their_base_uris(client, emulator_server, admin_tokens):
    info = client.oauth.userinfo(admin_tokens["access_token"])

    assert info.sub == TEST_ADMIN_USER_ID
    assert info.email == TEST_ADMIN_EMAIL
    assert info.name == "Ada Admin"
    assert (info.given_name, info.family_name) == ("Ada", "Admin")
    assert [a.account_id for a in info.accounts] == [TEST_ACCOUNT_1_ID, TEST_ACCOUNT_2_ID]
    default = info.default_account
    assert default is not None
    assert default.account_id == TEST_ACCOUNT_1_ID
    assert default.is_default is True
    assert default.base_uri == emulator_server.base_uri(TEST_ACCOUNT_1_SHARD)
    assert default.organization_id == TEST_ORGANIZATION_ID
    assert info.accounts[1].is_default is False
    assert info.accounts[1].organization_id is None


def test_userinfo_with_an_expired_token_is_a_transient_auth_error(client, emulator, admin_tokens):
    emulator.expire_tokens(access_token=admin_tokens["access_token"])

    with pytest.raises(DocuSignAuthError) as caught:
        client.oauth.userinfo(admin_tokens["access_token"])

    assert caught.value.status == 401
    assert not caught.value.is_terminal  # refresh, no human needed
    assert admin_tokens["access_token"] not in str(caught.value)


def test_userinfo_is_retried_on_503(client, emulator, admin_tokens, sleeps):
    emulator.fault("GET /oauth/userinfo", status=503, count=1)

    info = client.oauth.userinfo(admin_tokens["access_token"])

    assert info.sub == TEST_ADMIN_USER_ID
    assert sleeps == [pytest.approx(0.2)]
    assert emulator.calls()["GET /oauth/userinfo"] == 2
