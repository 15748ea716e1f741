"""`from_date`/`to_date` on `GET /connect/failures` and `GET /connect/logs` (API.md 2): entries
created before `from_date` or after `to_date` are left out; a bad date is a DocuSign-shaped 400."""

from __future__ import annotations

import datetime as dt

import pytest

from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ACCOUNT_1_SHARD,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
)
from docusign_emulator.tests.conftest import bearer, config_body, connect_url, web

ENDPOINTS = [("/failures", "failures", "failureId"), ("/logs", "logs", "logId")]


def parse(created: str) -> dt.datetime:
    return dt.datetime.fromisoformat(created.replace("Z", "+00:00"))


@pytest.fixture
def token(emulator):
    return emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)["access_token"]


@pytest.fixture
def two_entries(emulator, emulator_server, token, listener):
    """Two failed deliveries three hours apart (retries are daily, so both stay failures)."""
    body = config_body(urlToPublishTo=listener.hook_url)
    created = web.post(connect_url(emulator_server), json=body, headers=bearer(token))
    assert created.status_code == 200, created.text
    listener.statuses.extend([500, 500])
    emulator.publish_event(TEST_ACCOUNT_1_ID, "envelope-sent")
    emulator.advance_clock(3 * 3600)
    emulator.publish_event(TEST_ACCOUNT_1_ID, "envelope-completed")
    out = {}
    for tail, key, id_field in ENDPOINTS:
        rows = web.get(connect_url(emulator_server, tail=tail), headers=bearer(token)).json()[key]
        assert len(rows) == 2
        out[tail] = [(row[id_field], parse(row["created"])) for row in rows]
    return out


def listed(server, token, tail, **params):
    resp = web.get(connect_url(server, tail=tail), headers=bearer(token), params=params)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    rows = body[dict((t, k) for t, k, _ in ENDPOINTS)[tail]]
    assert body["totalRecords"] == str(len(rows))
    id_field = dict((t, f) for t, _, f in ENDPOINTS)[tail]
    return [row[id_field] for row in rows]


@pytest.mark.parametrize("tail", ["/failures", "/logs"])
def test_datetime_bounds_are_applied(emulator_server, token, two_entries, tail):
    (first_id, first), (second_id, second) = two_entries[tail]
    second_ms = second.replace(microsecond=second.microsecond // 10000 * 10000)  # wire precision
    everything = [first_id, second_id]
    assert listed(emulator_server, token, tail) == everything
    # from_date keeps entries on or after it; to_date those up to it (both inclusive).
    after_first = (first + dt.timedelta(seconds=1)).isoformat()  # "+00:00", as isoformat() sends
    assert listed(emulator_server, token, tail, from_date=after_first) == [second_id]
    assert listed(emulator_server, token, tail, to_date=after_first) == [first_id]
    zulu = second_ms.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-4] + "Z"
    assert listed(emulator_server, token, tail, from_date=zulu) == [second_id]
    window = {
        "from_date": (first - dt.timedelta(minutes=1)).isoformat(),
        "to_date": (first + dt.timedelta(minutes=1)).isoformat(),
    }
    assert listed(emulator_server, token, tail, **window) == [first_id]
    # Another offset names the same instant; naive datetimes are UTC.
    plus_two = (first + dt.timedelta(seconds=1)).astimezone(dt.timezone(dt.timedelta(hours=2)))
    assert listed(emulator_server, token, tail, to_date=plus_two.isoformat()) == [first_id]
    naive = (first + dt.timedelta(seconds=1)).replace(tzinfo=None).isoformat()
    assert listed(emulator_server, token, tail, to_date=naive) == [first_id]
    later = (second + dt.timedelta(hours=1)).isoformat()
    assert listed(emulator_server, token, tail, from_date=later) == []
    earlier = (first - dt.timedelta(hours=1)).isoformat()
    assert listed(emulator_server, token, tail, to_date=earlier) == []


@pytest.mark.parametrize("tail", ["/failures", "/logs"])
def test_bare_dates_cover_whole_days(emulator_server, token, two_entries, tail):
    (first_id, first), (second_id, second) = two_entries[tail]
    day1, day2 = first.date(), second.date()
    # A bare to_date includes that whole day (its documented default is "the current date").
    expected_to_day1 = [first_id] + ([second_id] if day2 == day1 else [])
    assert listed(emulator_server, token, tail, to_date=day1.isoformat()) == expected_to_day1
    assert listed(emulator_server, token, tail, from_date=day1.isoformat()) == [first_id, second_id]
    next_day = (day2 + dt.timedelta(days=1)).isoformat()
    prev_day = (day1 - dt.timedelta(days=1)).isoformat()
    assert listed(emulator_server, token, tail, from_date=next_day) == []
    assert listed(emulator_server, token, tail, to_date=prev_day) == []
    assert listed(emulator_server, token, tail, from_date=prev_day, to_date=next_day) == [
        first_id,
        second_id,
    ]


@pytest.mark.parametrize("tail", ["/failures", "/logs"])
@pytest.mark.parametrize(
    "params",
    [
        {"from_date": "yesterday"},
        {"to_date": "2024-13-01"},
        {"from_date": "01/02/2024"},
        {"to_date": "2024-01-02T25:00:00Z"},
        {"from_date": ""},
        {"to_date": "2024-01-02T10:00:00+0x:00"},
        [("from_date", "2024-01-01"), ("from_date", "2024-01-02")],
    ],
)
def test_malformed_dates_are_invalid_request_parameter(emulator_server, token, tail, params):
    resp = web.get(connect_url(emulator_server, tail=tail), headers=bearer(token), params=params)
    assert resp.status_code == 400
    body = resp.json()
    assert set(body) == {"errorCode", "message"}
    assert body["errorCode"] == "INVALID_REQUEST_PARAMETER"
    assert "X-RateLimit-Remaining" in resp.headers  # still a REST response
    assert "X-DocuSign-TraceToken" in resp.headers


def test_the_sdk_sends_the_dates_and_gets_the_window(emulator, emulator_server, two_entries):
    from docusign_esign import ApiClient, ConnectApi

    (first_id, first), _ = two_entries["/failures"]
    token = emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)["access_token"]
    client = ApiClient(host=emulator_server.base_uri(TEST_ACCOUNT_1_SHARD) + "/restapi")
    client.set_default_header("Authorization", f"Bearer {token}")
    api = ConnectApi(client)
    to_date = (first + dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    failures = api.list_event_failure_logs(TEST_ACCOUNT_1_ID, to_date=to_date)
    assert [f.failure_id for f in failures.failures] == [first_id]
    logs = api.list_event_logs(TEST_ACCOUNT_1_ID, from_date=to_date)
    assert len(logs.logs) == 1
