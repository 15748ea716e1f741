"""The observer hears of every HTTP attempt with the endpoint's template, never an id; a failing
observer changes no call's outcome."""

from __future__ import annotations

import socket

import pytest
import requests

from docusign_api import (
    CallObserved,
    DocuSignClient,
    DocuSignNotFound,
    DocuSignUnavailable,
    RetryPolicy,
)
from docusign_emulator.testing import TEST_ACCOUNT_1_ID, TEST_ACCOUNT_1_SHARD

CONNECT = "/restapi/v2.1/accounts/{accountId}/connect"


def _client(url: str, observer) -> DocuSignClient:
    return DocuSignClient(
        auth_base_url=url,
        session=requests.Session(),
        timeout=(2, 5),
        retry=RetryPolicy(max_attempts=2, sleep=lambda _: None),
        observer=observer,
    )


def test_each_call_is_observed_by_endpoint_template_and_status(emulator_server, admin_tokens):
    seen: list[CallObserved] = []
    api = _client(emulator_server.url, seen.append).connect(
        base_uri=emulator_server.base_uri(TEST_ACCOUNT_1_SHARD),
        account_id=TEST_ACCOUNT_1_ID,
        access_token=admin_tokens["access_token"],
    )

    api.list()
    with pytest.raises(DocuSignNotFound):
        api.get("12345678")

    assert [(c.method, c.endpoint, c.status) for c in seen] == [
        ("GET", CONNECT, "200"),
        ("GET", CONNECT + "/{connectId}", "404"),
    ]
    assert all(c.seconds >= 0 for c in seen)
    assert not any(TEST_ACCOUNT_1_ID in c.endpoint or "12345678" in c.endpoint for c in seen)


def test_an_unreachable_server_is_observed_once_per_attempt_as_a_connection_error():
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    seen: list[CallObserved] = []

    with pytest.raises(DocuSignUnavailable):
        _client(f"http://127.0.0.1:{port}", seen.append).oauth.userinfo("an-access-token")

    assert [(c.method, c.endpoint, c.status) for c in seen] == [
        ("GET", "/oauth/userinfo", "connection_error"),
        ("GET", "/oauth/userinfo", "connection_error"),
    ]


def test_a_failing_observer_does_not_change_the_outcome(emulator_server, admin_tokens):
    def broken(call: CallObserved) -> None:
        raise RuntimeError("metrics backend down")

    info = _client(emulator_server.url, broken).oauth.userinfo(admin_tokens["access_token"])

    assert info.accounts
