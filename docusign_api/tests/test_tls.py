"""The CA bundle passed to the client is used for every call (the emulator's --tls mode)."""

from __future__ import annotations

import pytest
import requests

from docusign_api import DocuSignClient, DocuSignUnavailable, RetryPolicy
from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_PRIVATE_KEY_PEM,
)

from .conftest import SleepRecorder


def test_calls_succeed_with_the_emulators_ca_bundle(emulator_tls_server, emulator_tls):
    client = DocuSignClient(
        auth_base_url=emulator_tls_server.url,
        session=requests.Session(),
        ca_bundle=emulator_tls_server.ca_file,
    )
    emulator_tls.grant_consent(TEST_ADMIN_USER_ID, TEST_CLIENT_ID)

    tokens = client.oauth.jwt_user_token(
        client_id=TEST_CLIENT_ID, user_id=TEST_ADMIN_USER_ID, private_key_pem=TEST_PRIVATE_KEY_PEM
    )
    account = client.oauth.userinfo(tokens.access_token).default_account
    api = client.connect(
        base_uri=account.base_uri, account_id=account.account_id, access_token=tokens.access_token
    )

    assert account.account_id == TEST_ACCOUNT_1_ID
    assert account.base_uri.startswith("https://")
    assert api.list() == []


def test_an_untrusted_certificate_is_unavailable(emulator_tls_server, emulator_tls):
    sleeps = SleepRecorder()
    client = DocuSignClient(
        auth_base_url=emulator_tls_server.url,
        session=requests.Session(),
        retry=RetryPolicy(sleep=sleeps),
    )
    token = emulator_tls.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)["access_token"]

    with pytest.raises(DocuSignUnavailable, match="SSLError"):
        client.oauth.userinfo(token)
