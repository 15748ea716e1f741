"""Envelopes, listStatusChanges, the failure log and retry_queue (API.md 2, 3.5, 7)."""

from __future__ import annotations

import pytest

from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ACCOUNT_1_SHARD,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_NON_ADMIN_USER_ID,
)
from docusign_emulator.tests.conftest import bearer, config_body, connect_url, web


@pytest.fixture
def token(emulator):
    return emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)["access_token"]


def account_url(server, tail: str) -> str:
    base = server.base_uri(TEST_ACCOUNT_1_SHARD)
    return f"{base}/restapi/v2.1/accounts/{TEST_ACCOUNT_1_ID}{tail}"


def listen(server, token, listener, **overrides):
    body = config_body(
        urlToPublishTo=listener.hook_url,
        events=["envelope-sent", "envelope-delivered", "envelope-completed"],
        includeHMAC="false",
        **overrides,
    )
    resp = web.post(connect_url(server), json=body, headers=bearer(token))
    assert resp.status_code == 200, resp.text
    return resp.json()


def retry(server, token, envelope_ids):
    return web.put(
        connect_url(server, tail="/envelopes/retry_queue"),
        json={"envelopeIds": envelope_ids, "synchronous": "false"},
        headers=bearer(token),
    )


def failures(server, token):
    resp = web.get(connect_url(server, tail="/failures"), headers=bearer(token))
    assert resp.status_code == 200, resp.text
    return resp.json()["failures"]


def test_post_envelopes_with_a_minimal_body_creates_a_sent_envelope_and_publishes_it(
    emulator, emulator_server, token, listener
):
    listen(emulator_server, token, listener)
    resp = web.post(
        account_url(emulator_server, "/envelopes"),
        json={"status": "sent", "emailSubject": "Lease"},
        headers=bearer(token),
    )
    assert resp.status_code == 201, resp.text
    envelope_id = resp.json()["envelopeId"]
    assert resp.json()["status"] == "sent"
    assert [r.json()["event"] for r in listener.requests] == ["envelope-sent"]
    got = web.get(account_url(emulator_server, f"/envelopes/{envelope_id}"), headers=bearer(token))
    assert got.json()["status"] == "sent"
    assert got.json()["emailSubject"] == "Lease"
    bad = web.post(
        account_url(emulator_server, "/envelopes"),
        json={"status": "completed"},
        headers=bearer(token),
    )
    assert bad.status_code == 400
    assert bad.json()["errorCode"] == "INVALID_REQUEST_PARAMETER"


def test_list_status_changes_pages_with_string_fields_and_needs_from_date(
    emulator, emulator_server, token
):
    made = emulator.simulate_envelopes(TEST_ACCOUNT_1_ID, count=5)
    url = account_url(emulator_server, "/envelopes")
    assert web.get(url, headers=bearer(token)).json()["errorCode"] == "INVALID_REQUEST_PARAMETER"
    first = web.get(url, params={"from_date": "2000-01-01", "count": "2"}, headers=bearer(token))
    assert first.status_code == 200, first.text
    page = first.json()
    assert (page["resultSetSize"], page["startPosition"], page["endPosition"]) == ("2", "0", "1")
    assert page["totalSetSize"] == "5"
    assert page["nextUri"].startswith("/envelopes?")
    seen = [e["envelopeId"] for e in page["envelopes"]]
    while page["nextUri"]:
        nxt = web.get(account_url(emulator_server, page["nextUri"]), headers=bearer(token))
        page = nxt.json()
        seen += [e["envelopeId"] for e in page["envelopes"]]
    assert seen == [m["envelopeId"] for m in made]
    assert {e["status"] for e in page["envelopes"]} == {"completed"}
    assert "completedDateTime" in page["envelopes"][0]
    only = web.get(url, params={"from_date": "2000-01-01", "status": "sent"}, headers=bearer(token))
    assert only.json()["totalSetSize"] == "0"


def test_a_non_admin_can_list_envelopes_but_not_republish(emulator, emulator_server):
    member = emulator.issue_tokens(TEST_CLIENT_ID, TEST_NON_ADMIN_USER_ID)["access_token"]
    listing = web.get(
        account_url(emulator_server, "/envelopes"),
        params={"from_date": "2000-01-01"},
        headers=bearer(member),
    )
    assert listing.status_code == 200, listing.text
    assert retry(emulator_server, member, ["x"]).status_code == 403


def test_failed_deliveries_are_logged_and_retry_queue_redelivers_them_once(
    emulator, emulator_server, token, listener
):
    config = listen(emulator_server, token, listener)
    listener.statuses = [503, 503, 503]
    made = emulator.simulate_envelopes(TEST_ACCOUNT_1_ID, count=1)
    envelope_id = made[0]["envelopeId"]
    logged = failures(emulator_server, token)
    assert [f["status"] for f in logged] == ["sent", "delivered", "completed"]
    assert {f["envelopeId"] for f in logged} == {envelope_id}
    assert {f["connectId"] for f in logged} == {config["connectId"]}
    assert all(f["error"] == "HTTP 503" and f["lastTry"] for f in logged)
    logs = web.get(connect_url(emulator_server, tail="/logs"), headers=bearer(token)).json()
    assert [entry["status"] for entry in logs["logs"]] == ["Failed"] * 3

    resp = retry(emulator_server, token, [envelope_id, "not-in-this-account"])

    assert resp.status_code == 200, resp.text
    queue = resp.json()["retryQueue"]
    assert list(queue[0]) == ["configId", "configUrl", "envelopeId", "status", "statusMessage"]
    by_status = sorted((q["envelopeId"], q["status"]) for q in queue)
    assert by_status == sorted([(envelope_id, "Success")] * 3 + [("not-in-this-account", "Failed")])
    unknown = next(q for q in queue if q["envelopeId"] == "not-in-this-account")
    assert "ENVELOPE_DOES_NOT_EXIST" in unknown["statusMessage"]
    assert failures(emulator_server, token) == []
    redelivered = [r.json() for r in listener.requests[3:]]
    assert sorted(p["event"] for p in redelivered) == [
        "envelope-completed", "envelope-delivered", "envelope-sent"
    ]  # fmt: skip
    assert {p["retryCount"] for p in redelivered} == {1}


def test_a_republish_that_fails_again_keeps_the_failure_with_the_new_error(
    emulator, emulator_server, token, listener
):
    listen(emulator_server, token, listener)
    listener.statuses = [500, 502]
    envelope_id = emulator.simulate_envelopes(TEST_ACCOUNT_1_ID, statuses=["sent"])[0]["envelopeId"]
    resp = web.put(
        connect_url(emulator_server, tail=f"/envelopes/{envelope_id}/retry_queue"),
        headers=bearer(token),
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["retryQueue"][0]["status"] == "Failed"
    assert resp.json()["retryQueue"][0]["statusMessage"] == "HTTP 502"
    [entry] = failures(emulator_server, token)
    assert (entry["error"], entry["retryCount"]) == ("HTTP 502", "1")


def test_a_silently_dropped_delivery_leaves_no_failure_and_retry_queue_resends_the_status(
    emulator, emulator_server, token, listener
):
    listen(emulator_server, token, listener)
    emulator.drop_deliveries(1, account_id=TEST_ACCOUNT_1_ID, event="envelope-completed")
    envelope_id = emulator.simulate_envelopes(TEST_ACCOUNT_1_ID)[0]["envelopeId"]
    assert [r.json()["event"] for r in listener.requests] == ["envelope-sent", "envelope-delivered"]
    assert failures(emulator_server, token) == []

    queue = retry(emulator_server, token, [envelope_id]).json()["retryQueue"]

    assert [q["status"] for q in queue] == ["Success"]
    assert listener.requests[-1].json()["event"] == "envelope-completed"
    emulator.config(retry_queue_without_failure="refuse")
    refused = retry(emulator_server, token, [envelope_id]).json()["retryQueue"]
    assert refused[0]["status"] == "Failed"


def test_retry_queue_bad_bodies_and_connect_disabled(emulator, emulator_server, token):
    assert retry(emulator_server, token, []).status_code == 400
    emulator.config(retry_queue_max_envelopes=2)
    assert retry(emulator_server, token, ["a", "b", "c"]).status_code == 400
    emulator.set_connect_enabled(TEST_ACCOUNT_1_ID, False)
    off = retry(emulator_server, token, ["a"])
    assert (off.status_code, off.json()["errorCode"]) == (400, "CONNECT_NOT_ENABLED")


def test_every_call_counts_against_the_account_rate_limits(emulator, emulator_server, token):
    emulator.reset_calls()
    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, burst_remaining=1)
    ok = web.get(
        account_url(emulator_server, "/envelopes"),
        params={"from_date": "2000-01-01"},
        headers=bearer(token),
    )
    assert ok.headers["X-BurstLimit-Remaining"] == "0"
    limited = retry(emulator_server, token, ["a"])
    assert limited.json()["errorCode"] == "BURST_APIINVOCATION_LIMIT_EXCEEDED"
    counts = emulator.calls()["by_account"][TEST_ACCOUNT_1_ID]
    assert counts["GET /restapi/envelopes"] == 1
    assert counts["PUT /restapi/connect/envelopes/retry_queue"] == 1


def test_a_failure_entry_without_an_envelope_id_is_listed_as_is(emulator, emulator_server, token):
    emulator.add_failure(TEST_ACCOUNT_1_ID, envelope_id="", error="Listener unreachable")
    [entry] = failures(emulator_server, token)
    assert entry["envelopeId"] == ""
    assert entry["error"] == "Listener unreachable"


def test_the_failure_log_keeps_a_bounded_number_of_entries_for_a_limited_time(
    emulator, emulator_server, token, listener
):
    listen(emulator_server, token, listener)
    listener.statuses = [503] * 6
    emulator.config(failure_log_max_entries=2)
    emulator.simulate_envelopes(TEST_ACCOUNT_1_ID, count=1)  # three failures
    assert [f["status"] for f in failures(emulator_server, token)] == ["delivered", "completed"]
    emulator.config(failure_log_retention_s=60)
    emulator.advance_clock(120)
    assert failures(emulator_server, token) == []


def test_retry_queue_also_redelivers_to_the_envelopes_own_event_notification(
    emulator, emulator_server, token, listener
):
    listener.statuses = [503]
    notification = {
        "url": listener.hook_url,
        "deliveryMode": "SIM",
        "events": ["envelope-sent"],
        "eventData": {"version": "restv2.1"},
        "requireAcknowledgment": True,
    }
    created = web.post(
        account_url(emulator_server, "/envelopes"),
        json={"status": "sent", "eventNotification": notification},
        headers=bearer(token),
    )
    assert created.status_code == 201, created.text
    envelope_id = created.json()["envelopeId"]
    assert [f["envelopeId"] for f in failures(emulator_server, token)] == [envelope_id]

    queue = retry(emulator_server, token, [envelope_id]).json()["retryQueue"]

    assert [q["status"] for q in queue] == ["Success"]
    assert failures(emulator_server, token) == []
    assert [r.json()["event"] for r in listener.requests] == ["envelope-sent", "envelope-sent"]
