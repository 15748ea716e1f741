"""Connect delivery: JSON SIM payloads, HMAC with own or partner keys, OAuth, Basic, retries
(API.md 3)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pytest

from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_PARTNER_ACCOUNT_ID,
    TEST_PARTNER_ADMIN_USER_ID,
)
from docusign_emulator.tests.conftest import bearer, config_body, connect_url, web

ENVELOPE_ID = "4d3420b8-1111-4222-8333-444455556666"


@pytest.fixture
def token(emulator):
    return emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)["access_token"]


def create(server, token, **overrides):
    resp = web.post(connect_url(server), json=config_body(**overrides), headers=bearer(token))
    assert resp.status_code == 200, resp.text
    return resp.json()


def expected_signature(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def test_payload_shape_and_partner_hmac_for_integrator_managed(
    emulator, emulator_server, token, listener
):
    emulator.set_partner_hmac_keys(TEST_PARTNER_ACCOUNT_ID, ["partner-1", "partner-2"])
    emulator.set_account_hmac_keys(TEST_ACCOUNT_1_ID, ["client-own"])
    config = create(emulator_server, token, urlToPublishTo=listener.hook_url)
    deliveries = emulator.publish_event(
        TEST_ACCOUNT_1_ID, "envelope-completed", envelope_id=ENVELOPE_ID
    )
    assert deliveries[0]["status"] == "delivered"
    assert deliveries[0]["connectId"] == config["connectId"]
    received = listener.requests[0]
    payload = received.json()
    assert list(payload) == [
        "event", "apiVersion", "uri", "retryCount", "configurationId", "generatedDateTime", "data"
    ]  # fmt: skip
    assert payload["event"] == "envelope-completed"
    assert payload["apiVersion"] == "v2.1"
    assert payload["uri"] == f"/restapi/v2.1/accounts/{TEST_ACCOUNT_1_ID}/envelopes/{ENVELOPE_ID}"
    assert payload["retryCount"] == 0
    assert payload["configurationId"] == int(config["connectId"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", payload["generatedDateTime"])
    assert payload["data"]["accountId"] == TEST_ACCOUNT_1_ID
    assert payload["data"]["envelopeId"] == ENVELOPE_ID
    assert payload["data"]["userId"] == TEST_ADMIN_USER_ID
    assert payload["data"]["envelopeSummary"]["status"] == "completed"
    assert "recipients" in payload["data"]["envelopeSummary"]
    headers = received.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Authorization-Digest"] == "HMACSHA256"
    assert headers["X-DocuSign-AccountId"] == TEST_ACCOUNT_1_ID
    assert headers["X-DocuSign-Signature-1"] == expected_signature("partner-1", received.body)
    assert headers["X-DocuSign-Signature-2"] == expected_signature("partner-2", received.body)


def test_not_integrator_managed_signs_with_the_accounts_own_keys(
    emulator, emulator_server, token, listener
):
    emulator.set_partner_hmac_keys(TEST_PARTNER_ACCOUNT_ID, ["partner-1"])
    emulator.set_account_hmac_keys(TEST_ACCOUNT_1_ID, ["client-own"])
    create(emulator_server, token, urlToPublishTo=listener.hook_url, integratorManaged="false")
    emulator.publish_event(TEST_ACCOUNT_1_ID, "envelope-sent")
    received = listener.requests[0]
    assert received.headers["X-DocuSign-Signature-1"] == expected_signature(
        "client-own", received.body
    )
    assert "X-DocuSign-Signature-2" not in received.headers


def test_recipient_event_carries_recipient_id_and_no_summary_without_include_data(
    emulator, emulator_server, token, listener
):
    create(
        emulator_server, token, urlToPublishTo=listener.hook_url, includeHMAC="false",
        eventData={"version": "restv2.1", "includeData": []},
    )  # fmt: skip
    emulator.publish_event(TEST_ACCOUNT_1_ID, "recipient-completed", recipient_id="2")
    payload = listener.requests[0].json()
    assert payload["data"]["recipientId"] == "2"
    assert "envelopeSummary" not in payload["data"]
    assert "X-DocuSign-Signature-1" not in listener.requests[0].headers


def test_only_matching_active_configs_receive(emulator, emulator_server, token, listener):
    create(emulator_server, token, urlToPublishTo=listener.hook_url, name="match")
    paused = create(emulator_server, token, urlToPublishTo=listener.hook_url, name="paused")
    emulator.drift_edit(TEST_ACCOUNT_1_ID, paused["connectId"], pausePublish="true")
    disabled = create(emulator_server, token, urlToPublishTo=listener.hook_url, name="disabled")
    emulator.drift_edit(TEST_ACCOUNT_1_ID, disabled["connectId"], disabledBy="admin")
    create(emulator_server, token, urlToPublishTo=listener.hook_url, allowEnvelopePublish="false")
    create(emulator_server, token, urlToPublishTo=listener.hook_url, events=["envelope-voided"])
    deliveries = emulator.publish_event(TEST_ACCOUNT_1_ID, "envelope-completed")
    assert len(deliveries) == 1
    assert len(listener.requests) == 1


def test_include_oauth_uses_the_partner_connect_oauth_config(
    emulator, emulator_server, token, listener
):
    partner_token = emulator.issue_tokens(TEST_CLIENT_ID, TEST_PARTNER_ADMIN_USER_ID)[
        "access_token"
    ]
    resp = web.post(
        connect_url(
            emulator_server, account_id=TEST_PARTNER_ACCOUNT_ID, shard="demo", tail="/oauth"
        ),
        json={
            "authorizationServerUrl": listener.token_url,
            "clientId": "connect-client",
            "clientSecret": "s3cr3t",
            "scope": "api://x/.default",
            "customParameters": {"audience": "listener"},
        },
        headers=bearer(partner_token),
    )
    assert resp.status_code == 201
    create(emulator_server, token, urlToPublishTo=listener.hook_url, includeOAuth="true")
    deliveries = emulator.publish_event(TEST_ACCOUNT_1_ID, "envelope-sent")
    assert deliveries[0]["status"] == "delivered"
    token_request = listener.token_requests[0]
    assert (
        token_request.headers["Authorization"]
        == "Basic " + base64.b64encode(b"connect-client:s3cr3t").decode()
    )
    form = token_request.body.decode()
    assert "grant_type=client_credentials" in form
    assert "audience=listener" in form
    assert listener.requests[0].headers["Authorization"] == "Bearer idp-token-1"


def test_basic_auth_from_user_name_and_password(emulator, emulator_server, token, listener):
    create(emulator_server, token, urlToPublishTo=listener.hook_url, userName="hook", password="pw")
    emulator.publish_event(TEST_ACCOUNT_1_ID, "envelope-sent")
    expected = "Basic " + base64.b64encode(b"hook:pw").decode()
    assert listener.requests[0].headers["Authorization"] == expected


def test_failed_delivery_is_queued_retried_on_clock_advance_and_logged(
    emulator, emulator_server, token, listener
):
    config = create(emulator_server, token, urlToPublishTo=listener.hook_url)
    listener.statuses.extend([500])
    deliveries = emulator.publish_event(TEST_ACCOUNT_1_ID, "envelope-completed")
    assert deliveries[0]["status"] == "failed"
    failures = web.get(connect_url(emulator_server, tail="/failures"), headers=bearer(token)).json()
    assert failures["totalRecords"] == "1"
    assert failures["failures"][0]["connectId"] == config["connectId"]
    assert failures["failures"][0]["retryCount"] == "0"
    logs = web.get(connect_url(emulator_server, tail="/logs"), headers=bearer(token)).json()
    assert [entry["status"] for entry in logs["logs"]] == ["Failed"]

    emulator.advance_clock(3600)  # not yet due (daily by default)
    assert len(listener.requests) == 1
    result = emulator.advance_clock(86400)
    assert result["retried"][0]["status"] == "delivered"
    first, retry = listener.requests[0].json(), listener.requests[1].json()
    assert retry["retryCount"] == 1
    # The same message again: everything but retryCount is unchanged, a day later or not.
    assert {**retry, "retryCount": 0} == first
    token = emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)["access_token"]  # a day on
    failures = web.get(connect_url(emulator_server, tail="/failures"), headers=bearer(token)).json()
    assert failures["totalRecords"] == "0"


def test_without_acknowledgement_failures_are_not_retried(
    emulator, emulator_server, token, listener
):
    create(
        emulator_server, token, urlToPublishTo=listener.hook_url, requiresAcknowledgement="false"
    )
    listener.statuses.append(503)
    emulator.publish_event(TEST_ACCOUNT_1_ID, "envelope-sent")
    failures = web.get(connect_url(emulator_server, tail="/failures"), headers=bearer(token)).json()
    assert failures["totalRecords"] == "0"


def test_unreachable_listener_is_a_failure_not_a_crash(emulator, emulator_server, token):
    create(emulator_server, token, urlToPublishTo="http://127.0.0.1:9/hook")
    deliveries = emulator.publish_event(TEST_ACCOUNT_1_ID, "envelope-sent")
    assert deliveries[0]["status"] == "failed"
    assert deliveries[0]["error"]
