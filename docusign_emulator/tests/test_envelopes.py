"""`POST /envelopes` with an envelope-level eventNotification (API.md 2.1): its own field names,
validated like a configuration, and that envelope's events delivered to it."""

from __future__ import annotations

import pytest

from docusign_emulator.testing import TEST_ACCOUNT_1_ID, TEST_ADMIN_USER_ID, TEST_CLIENT_ID
from docusign_emulator.tests.conftest import bearer, connect_url, web


@pytest.fixture
def token(emulator):
    return emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)["access_token"]


def envelopes_url(server) -> str:
    return connect_url(server).removesuffix("/connect") + "/envelopes"


def notification(hook: str, **overrides) -> dict:
    body = {
        "url": hook,
        "deliveryMode": "SIM",
        "events": ["envelope-sent", "envelope-completed"],
        "eventData": {"version": "restv2.1", "format": "json"},
        "requireAcknowledgment": True,
        "loggingEnabled": True,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def test_envelope_events_go_to_its_notification_and_only_its_own(
    emulator, emulator_server, token, listener
):
    first = web.post(
        envelopes_url(emulator_server),
        json={"status": "sent", "eventNotification": notification(listener.hook_url)},
        headers=bearer(token),
    )
    assert first.status_code == 201, first.text
    envelope_id = first.json()["envelopeId"]
    [sent] = listener.requests
    assert sent.json()["event"] == "envelope-sent"

    other = web.post(envelopes_url(emulator_server), json={"status": "sent"}, headers=bearer(token))
    assert other.status_code == 201
    emulator.publish_event(TEST_ACCOUNT_1_ID, "envelope-completed", envelope_id=envelope_id)
    emulator.publish_event(
        TEST_ACCOUNT_1_ID, "envelope-completed", envelope_id=other.json()["envelopeId"]
    )
    assert [r.json()["data"]["envelopeId"] for r in listener.requests] == [envelope_id] * 2


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"url": None}, "eventNotification.url"),
        ({"deliveryMode": "Aggregate"}, "SIM"),
        ({"events": ["envelope-exploded"]}, "envelope-exploded"),
    ],
)
def test_a_bad_event_notification_is_refused_naming_the_field(
    emulator_server, token, overrides, fragment
):
    resp = web.post(
        envelopes_url(emulator_server),
        json={
            "status": "sent",
            "eventNotification": notification("https://x.example/h", **overrides),
        },
        headers=bearer(token),
    )
    assert resp.status_code == 400
    assert resp.json()["errorCode"] == "INVALID_REQUEST_PARAMETER"
    assert fragment in resp.json()["message"]


def test_a_failed_envelope_level_delivery_is_queued_and_retried(
    emulator, emulator_server, token, listener
):
    listener.statuses = [503]
    created = web.post(
        envelopes_url(emulator_server),
        json={"status": "sent", "eventNotification": notification(listener.hook_url)},
        headers=bearer(token),
    )
    assert created.status_code == 201

    retried = emulator.advance_clock(86400)["retried"]

    assert [r["status"] for r in retried] == ["delivered"]
    assert [r.json()["retryCount"] for r in listener.requests] == [0, 1]
