"""Per-account hourly and burst limits with DocuSign's headers and error codes (API.md 4)."""

from __future__ import annotations

import pytest
import requests

from docusign_emulator.testing import TEST_ACCOUNT_1_ID, TEST_ADMIN_USER_ID, TEST_CLIENT_ID
from docusign_emulator.tests.conftest import bearer, connect_url, web

HEADERS = [
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-BurstLimit-Limit",
    "X-BurstLimit-Remaining",
]


@pytest.fixture
def token(emulator):
    return emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)["access_token"]


def test_every_rest_response_carries_the_headers(emulator, emulator_server, token):
    ok = web.get(connect_url(emulator_server), headers=bearer(token))
    assert ok.headers["X-RateLimit-Limit"] == "3000"
    assert ok.headers["X-RateLimit-Remaining"] == "2999"
    assert ok.headers["X-BurstLimit-Limit"] == "200"
    assert ok.headers["X-BurstLimit-Remaining"] == "199"
    assert int(ok.headers["X-RateLimit-Reset"]) % 3600 == 0  # the top of the next clock hour
    second = web.get(connect_url(emulator_server), headers=bearer(token))
    assert second.headers["X-RateLimit-Remaining"] == "2998"
    error = web.get(connect_url(emulator_server, tail="/999"), headers=bearer(token))
    assert all(h in error.headers for h in HEADERS)
    unauthorised = web.get(connect_url(emulator_server))
    assert all(h in unauthorised.headers for h in HEADERS)


def test_hourly_limit_exceeded(emulator, emulator_server, token):
    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, hourly_remaining=1)
    assert web.get(connect_url(emulator_server), headers=bearer(token)).status_code == 200
    resp = web.get(connect_url(emulator_server), headers=bearer(token))
    assert resp.status_code == 400
    assert resp.json() == {
        "errorCode": "HOURLY_APIINVOCATION_LIMIT_EXCEEDED",
        "message": "The maximum number of hourly API invocations has been exceeded",
    }
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    emulator.advance_clock(3600)  # the next clock hour resets it
    assert web.get(connect_url(emulator_server), headers=bearer(token)).status_code == 200


def test_burst_limit_exceeded_with_429_when_configured(emulator, emulator_server, token):
    emulator.config(rate_limit_status=429)
    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, burst_remaining=0)
    resp = web.get(connect_url(emulator_server), headers=bearer(token))
    assert resp.status_code == 429
    assert resp.json()["errorCode"] == "BURST_APIINVOCATION_LIMIT_EXCEEDED"
    assert resp.headers["X-BurstLimit-Remaining"] == "0"
    emulator.advance_clock(30)
    assert web.get(connect_url(emulator_server), headers=bearer(token)).status_code == 200


def test_burst_limit_counts_real_calls(emulator, emulator_server, token):
    emulator.config(burst_limit=5, burst_window_s=3600)
    session = requests.Session()
    codes = [
        session.get(connect_url(emulator_server), headers=bearer(token)).status_code
        for _ in range(6)
    ]
    assert codes == [200] * 5 + [400]


def test_limits_are_per_account(emulator, emulator_server, token):
    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, hourly_remaining=0)
    other = connect_url(
        emulator_server, account_id="33333333-aaaa-4bbb-8ccc-000000000003", shard="eu"
    )
    assert web.get(other, headers=bearer(token)).status_code == 200


# --- Retry-After (send_retry_after; DocuSign documents none, API.md 4) -----------------------


def test_no_retry_after_by_default(emulator, emulator_server, token):
    assert emulator.config()["send_retry_after"] is False
    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, hourly_remaining=0, burst_remaining=0)
    resp = web.get(connect_url(emulator_server), headers=bearer(token))
    assert resp.json()["errorCode"] == "HOURLY_APIINVOCATION_LIMIT_EXCEEDED"
    assert "Retry-After" not in resp.headers


def test_retry_after_counts_down_to_the_hourly_reset(emulator, emulator_server, token):
    emulator.config(send_retry_after=True)
    ok = web.get(connect_url(emulator_server), headers=bearer(token))
    assert "Retry-After" not in ok.headers  # only on a limit error
    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, hourly_remaining=0)
    resp = web.get(connect_url(emulator_server), headers=bearer(token))
    assert resp.status_code == 400
    assert resp.json()["errorCode"] == "HOURLY_APIINVOCATION_LIMIT_EXCEEDED"
    now = web.get(f"{emulator_server.url}/_emulator/clock").json()["now"]
    wait = int(resp.headers["Retry-After"])
    assert 1 <= wait <= 3600
    assert abs(wait - (int(resp.headers["X-RateLimit-Reset"]) - now)) <= 2
    assert all(h in resp.headers for h in HEADERS)
    emulator.advance_clock(wait)
    assert web.get(connect_url(emulator_server), headers=bearer(token)).status_code == 200


def test_retry_after_counts_down_to_the_burst_window(emulator, emulator_server, token):
    emulator.config(send_retry_after=True, rate_limit_status=429, burst_window_s=30)
    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, burst_remaining=0)
    resp = web.get(connect_url(emulator_server), headers=bearer(token))
    assert resp.status_code == 429
    assert resp.json()["errorCode"] == "BURST_APIINVOCATION_LIMIT_EXCEEDED"
    wait = int(resp.headers["Retry-After"])
    assert 1 <= wait <= 30
    emulator.advance_clock(wait)
    assert web.get(connect_url(emulator_server), headers=bearer(token)).status_code == 200


def test_send_retry_after_must_be_a_boolean(emulator, emulator_server):
    resp = web.post(f"{emulator_server.url}/_emulator/config", json={"send_retry_after": "yes"})
    assert resp.status_code == 400
    assert "send_retry_after" in resp.json()["error"]
