"""No token, secret, code, verifier, assertion or key ever reaches a log record, an error or a repr.

Every flow runs with every logger (ours, requests', urllib3's) captured at DEBUG.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import replace

import pytest

from docusign_api import ConnectOAuthConfig, DocuSignError
from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ADMIN_EMAIL,
    TEST_ADMIN_PASSWORD,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_PRIVATE_KEY_PEM,
    TEST_REDIRECT_URI,
)

from .conftest import authorize_in_browser
from .test_connect import portal_config
from .test_oauth import other_private_key_pem

# base64url of {"alg":"RS256","typ":"JWT"}: how every assertion PyJWT signs begins. The
# emulator's own tokens start differently, so this finds any leaked assertion.
ASSERTION_PREFIX = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"
CONNECT_OAUTH_SECRET = "connect-oauth-secret-0042"
LISTENER_PASSWORD = "listener-password-0042"


def test_no_secret_appears_in_logs_errors_or_reprs(client, emulator, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = [
        TEST_CLIENT_SECRET,
        base64.b64encode(f"{TEST_CLIENT_ID}:{TEST_CLIENT_SECRET}".encode()).decode(),
        TEST_PRIVATE_KEY_PEM.decode().splitlines()[1],
        ASSERTION_PREFIX,
        CONNECT_OAUTH_SECRET,
        LISTENER_PASSWORD,
    ]
    shown: list[object] = []  # everything whose str() and repr() must be clean
    oauth = client.oauth

    def expect_error(call, *args, **kwargs) -> None:
        with pytest.raises(DocuSignError) as caught:
            call(*args, **kwargs)
        shown.append(caught.value)

    # Authorization code grant with PKCE, then a reused code and a wrong verifier.
    pkce = oauth.new_pkce()
    url = oauth.authorization_url(
        client_id=TEST_CLIENT_ID,
        redirect_uri=TEST_REDIRECT_URI,
        scopes=("signature", "extended"),
        state="state-1",
        code_challenge=pkce.challenge,
    )
    code = authorize_in_browser(url, email=TEST_ADMIN_EMAIL, password=TEST_ADMIN_PASSWORD)["code"]
    secrets += [code, pkce.verifier]
    tokens = oauth.exchange_code(
        client_id=TEST_CLIENT_ID,
        client_secret=TEST_CLIENT_SECRET,
        code=code,
        code_verifier=pkce.verifier,
        redirect_uri=TEST_REDIRECT_URI,
    )
    expect_error(
        oauth.exchange_code,
        client_id=TEST_CLIENT_ID,
        client_secret=TEST_CLIENT_SECRET,
        code=code,
        code_verifier=pkce.verifier,
    )
    expect_error(
        oauth.exchange_code, client_id=TEST_CLIENT_ID, client_secret="wrong-secret-0042", code=code
    )
    secrets.append("wrong-secret-0042")

    # Refresh: success, a 503 that is not retried, a revoked token.
    refreshed = oauth.refresh(
        client_id=TEST_CLIENT_ID,
        client_secret=TEST_CLIENT_SECRET,
        refresh_token=tokens.refresh_token,
    )
    emulator.fault("POST /oauth/token", status=503, count=1)
    expect_error(
        oauth.refresh,
        client_id=TEST_CLIENT_ID,
        client_secret=TEST_CLIENT_SECRET,
        refresh_token=refreshed.refresh_token,
    )
    emulator.revoke_tokens(refresh_token=refreshed.refresh_token)
    expect_error(
        oauth.refresh,
        client_id=TEST_CLIENT_ID,
        client_secret=TEST_CLIENT_SECRET,
        refresh_token=refreshed.refresh_token,
    )

    # JWT: success, wrong key, no consent.
    emulator.grant_consent(TEST_ADMIN_USER_ID, TEST_CLIENT_ID)
    jwt_tokens = oauth.jwt_user_token(
        client_id=TEST_CLIENT_ID, user_id=TEST_ADMIN_USER_ID, private_key_pem=TEST_PRIVATE_KEY_PEM
    )
    wrong_key = other_private_key_pem()
    secrets.append(wrong_key.decode().splitlines()[1])
    expect_error(
        oauth.jwt_user_token,
        client_id=TEST_CLIENT_ID,
        user_id=TEST_ADMIN_USER_ID,
        private_key_pem=wrong_key,
    )
    emulator.revoke_consent(TEST_ADMIN_USER_ID, TEST_CLIENT_ID)
    expect_error(
        oauth.jwt_user_token,
        client_id=TEST_CLIENT_ID,
        user_id=TEST_ADMIN_USER_ID,
        private_key_pem=TEST_PRIVATE_KEY_PEM,
    )

    # userinfo: success, a retried 503, an expired token.
    emulator.fault("GET /oauth/userinfo", status=503, count=1)
    info = oauth.userinfo(refreshed.access_token)

    # Connect: every call, a retried failure, auth and rate-limit errors.
    account = info.default_account
    api = client.connect(
        base_uri=account.base_uri,
        account_id=account.account_id,
        access_token=refreshed.access_token,
    )
    created = api.create(portal_config(user_name="listener", password=LISTENER_PASSWORD))
    emulator.fault("PUT /restapi/connect", status=503, count=1)
    api.update(replace(created, enable_log=False))
    api.get(created.connect_id)
    api.list()
    connect_oauth = ConnectOAuthConfig(
        authorization_server_url="https://idp.partner.example/token",
        client_id="connect-client",
        client_secret=CONNECT_OAUTH_SECRET,
    )
    api.oauth_create(connect_oauth)
    api.oauth_update(connect_oauth)
    fetched_oauth = api.oauth_get()
    api.oauth_delete()
    api.failures()
    api.logs()
    api.delete(created.connect_id)
    expect_error(api.get, created.connect_id)
    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, hourly_remaining=0)
    expect_error(api.list)
    emulator.expire_tokens(all=True)
    expect_error(api.list)
    expect_error(oauth.userinfo, refreshed.access_token)

    for token_set in (tokens, refreshed, jwt_tokens):
        secrets += [token_set.access_token]
        if token_set.refresh_token:
            secrets.append(token_set.refresh_token)
    shown += [tokens, refreshed, jwt_tokens, pkce, info, created, connect_oauth, fetched_oauth, api]
    shown.append(client)

    records = caplog.records
    texts = [caplog.text] + [r.getMessage() for r in records]
    texts += [str(obj) for obj in shown] + [repr(obj) for obj in shown]
    for secret in secrets:
        assert secret
        leaks = [text for text in texts if secret in text]
        assert leaks == [], f"a secret leaked: {secret[:6]}..."

    ours = [r.getMessage() for r in records if r.name == "docusign_api"]
    assert any(m.startswith("POST http://") and "/oauth/token -> 200" in m for m in ours)
    assert any("/restapi/v2.1/accounts/" in m and "trace=" in m for m in ours)
    assert any("retry 1/2" in m for m in ours)
    assert sum(isinstance(obj, DocuSignError) for obj in shown) == 10  # every error path ran
