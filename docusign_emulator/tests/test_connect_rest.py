"""eSignature v2.1 Connect endpoints: auth checks, wire strings, validation (API.md 2)."""

from __future__ import annotations

import pytest

from docusign_emulator.connect_wire import RECORDED_ORDER
from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ACCOUNT_2_ID,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_NON_ADMIN_USER_ID,
    TEST_SINGLE_ADMIN_USER_ID,
)
from docusign_emulator.tests.conftest import bearer, config_body, connect_url, web


@pytest.fixture
def admin_token(emulator):
    return emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)["access_token"]


def create(server, token, **overrides):
    return web.post(connect_url(server), json=config_body(**overrides), headers=bearer(token))


def assert_rest_error(resp, status, code):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"errorCode", "message"}
    assert body["errorCode"] == code


def test_create_echoes_strings_in_recorded_key_order(emulator_server, admin_token):
    resp = create(emulator_server, admin_token, allUsers=True, enableLog=False)
    assert resp.status_code == 200
    body = resp.json()
    assert body["connectId"].isdigit()
    assert body["allUsers"] == "true"  # a JSON boolean in, a string out
    assert body["enableLog"] == "false"
    # envelopeEvents/recipientEvents, like events and userIds, appear only when set.
    recorded = [k for k in RECORDED_ORDER if k not in ("envelopeEvents", "recipientEvents")]
    assert list(body)[: len(recorded)] == recorded
    assert body["integratorManaged"] == "true"
    assert body["eventData"] == {
        "version": "restv2.1",
        "format": "json",
        "includeData": ["recipients"],
    }
    assert "userIds" not in body
    assert "password" not in body


def test_unset_fields_come_back_as_recorded_defaults(emulator_server, admin_token):
    body = {
        "configurationType": "custom",
        "name": "Minimal",
        "urlToPublishTo": "https://hooks.example/x",
        "allUsers": "true",
    }
    resp = web.post(connect_url(emulator_server), json=body, headers=bearer(admin_token))
    data = resp.json()
    assert data["deliveryMode"] == ""
    assert data["eventData"] == {"version": "", "includeData": []}
    assert data["allowEnvelopePublish"] == "false"
    assert data["requiresAcknowledgement"] == "true"
    assert data["soapNamespace"] == ""
    assert "events" not in data


def test_create_without_configuration_type_defaults_to_custom(emulator_server, admin_token):
    # API.md 7: DocuSign accepted the recorded create without configurationType (JSON booleans
    # too) and answered "custom".
    body = {"name": "Recorded", "urlToPublishTo": "https://hooks.example/x", "allUsers": True}
    resp = web.post(connect_url(emulator_server), json=body, headers=bearer(admin_token))
    assert resp.status_code == 200, resp.text
    assert resp.json()["configurationType"] == "custom"
    assert resp.json()["allUsers"] == "true"


def test_put_in_replace_mode_drops_what_the_body_leaves_out(emulator, emulator_server, admin_token):
    emulator.config(connect_put_mode="replace")
    cid = create(emulator_server, admin_token, pausePublish=True).json()["connectId"]
    resp = web.put(
        connect_url(emulator_server),
        json={
            "connectId": cid,
            "name": "Replaced",
            "urlToPublishTo": "https://hooks.example/new",
            "allUsers": "true",
        },
        headers=bearer(admin_token),
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["name"] == "Replaced"
    assert body["pausePublish"] == "false"  # back to the default: the body did not carry it
    assert body["configurationType"] == "custom"
    assert body["eventData"] == {"version": "", "includeData": []}


def test_list_has_total_records_as_string(emulator_server, admin_token):
    create(emulator_server, admin_token, name="A")
    create(emulator_server, admin_token, name="B")
    data = web.get(connect_url(emulator_server), headers=bearer(admin_token)).json()
    assert data["totalRecords"] == "2"
    assert [c["name"] for c in data["configurations"]] == ["A", "B"]


def test_get_returns_the_wrapper_and_unknown_id_is_404(emulator_server, admin_token):
    cid = create(emulator_server, admin_token).json()["connectId"]
    data = web.get(connect_url(emulator_server, tail=f"/{cid}"), headers=bearer(admin_token))
    assert data.json()["totalRecords"] == "1"
    assert data.json()["configurations"][0]["connectId"] == cid
    missing = web.get(connect_url(emulator_server, tail="/123"), headers=bearer(admin_token))
    assert_rest_error(missing, 404, "INVALID_CONNECT_CONFIGURATION_ID")


def test_put_needs_connect_id_in_body_and_merges(emulator_server, admin_token):
    cid = create(emulator_server, admin_token).json()["connectId"]
    resp = web.put(
        connect_url(emulator_server),
        json={"connectId": cid, "name": "Renamed", "pausePublish": True},
        headers=bearer(admin_token),
    )
    assert resp.status_code == 200
    assert resp.json()["name"] == "Renamed"
    assert resp.json()["pausePublish"] == "true"
    assert resp.json()["urlToPublishTo"] == "https://hooks.partner.example/ds/connect"
    no_id = web.put(connect_url(emulator_server), json={"name": "x"}, headers=bearer(admin_token))
    assert_rest_error(no_id, 400, "INVALID_REQUEST_PARAMETER")


def test_delete_answers_200_with_empty_body(emulator_server, admin_token):
    cid = create(emulator_server, admin_token).json()["connectId"]
    resp = web.delete(connect_url(emulator_server, tail=f"/{cid}"), headers=bearer(admin_token))
    assert resp.status_code == 200
    assert resp.content == b""
    again = web.delete(connect_url(emulator_server, tail=f"/{cid}"), headers=bearer(admin_token))
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"name": ""}, "name"),
        ({"urlToPublishTo": ""}, "urlToPublishTo"),
        ({"urlToPublishTo": "https://x.example/" + "a" * 4100}, "4096"),
        ({"deliveryMode": "Aggregate"}, "SIM"),
        ({"eventData": {"version": "", "includeData": []}}, "restv2.1"),
        ({"events": ["envelope-exploded"]}, "envelope-exploded"),
        ({"configurationType": "nonsense"}, "configurationType"),
        ({"allUsers": "false"}, "userIds"),
    ],
)
def test_validation_errors(emulator_server, admin_token, overrides, fragment):
    resp = create(emulator_server, admin_token, **overrides)
    assert_rest_error(resp, 400, "INVALID_REQUEST_PARAMETER")
    assert fragment in resp.json()["message"]


def test_url_of_exactly_4096_bytes_is_accepted(emulator_server, admin_token):
    url = "https://x.example/" + "a" * (4096 - len("https://x.example/"))
    assert create(emulator_server, admin_token, urlToPublishTo=url).status_code == 200


def test_body_that_is_not_json_is_invalid_request_body(emulator_server, admin_token):
    for body in (b"{not json", b"[1,2]", b"\xff"):
        resp = web.post(
            connect_url(emulator_server),
            data=body,
            headers={**bearer(admin_token), "Content-Type": "application/json"},
        )
        assert_rest_error(resp, 400, "INVALID_REQUEST_BODY")


def test_unknown_fields_are_ignored_by_default_and_rejected_when_configured(
    emulator, emulator_server, admin_token
):
    resp = create(emulator_server, admin_token, surprise="x")
    assert resp.status_code == 200
    assert "surprise" not in resp.json()
    emulator.config(reject_unknown_fields=True)
    assert_rest_error(
        create(emulator_server, admin_token, surprise="x"), 400, "INVALID_REQUEST_PARAMETER"
    )


def test_oversized_body_gets_docusign_shape(emulator_server, admin_token):
    resp = web.post(
        connect_url(emulator_server),
        data=b"{" + b" " * (1024 * 1024 + 1) + b"}",
        headers={**bearer(admin_token), "Content-Type": "application/json"},
    )
    assert_rest_error(resp, 413, "REQUEST_ENTITY_TOO_LARGE")
    assert web.get(connect_url(emulator_server), headers=bearer(admin_token)).status_code == 200


# --- authentication ---------------------------------------------------------------------------


def test_missing_token_is_401(emulator, emulator_server):
    assert_rest_error(web.get(connect_url(emulator_server)), 401, "USER_AUTHENTICATION_FAILED")


def test_malformed_token_is_401_invalid_token(emulator, emulator_server):
    resp = web.get(connect_url(emulator_server), headers=bearer("garbage"))
    assert_rest_error(resp, 401, "AUTHORIZATION_INVALID_TOKEN")
    assert resp.json()["message"] == "The access token provided is expired, revoked or malformed."


def test_expired_token_is_401(emulator, emulator_server, admin_token):
    emulator.expire_tokens(access_token=admin_token)
    resp = web.get(connect_url(emulator_server), headers=bearer(admin_token))
    assert_rest_error(resp, 401, "AUTHORIZATION_INVALID_TOKEN")


def test_token_expires_by_the_emulator_clock(emulator, emulator_server, admin_token):
    emulator.advance_clock(28801)
    resp = web.get(connect_url(emulator_server), headers=bearer(admin_token))
    assert_rest_error(resp, 401, "AUTHORIZATION_INVALID_TOKEN")


def test_revoked_token_is_401(emulator, emulator_server, admin_token):
    emulator.revoke_tokens(user_id=TEST_ADMIN_USER_ID)
    resp = web.get(connect_url(emulator_server), headers=bearer(admin_token))
    assert_rest_error(resp, 401, "AUTHORIZATION_INVALID_TOKEN")


def test_account_the_user_does_not_belong_to(emulator, emulator_server):
    token = emulator.issue_tokens(TEST_CLIENT_ID, TEST_SINGLE_ADMIN_USER_ID)["access_token"]
    resp = web.get(connect_url(emulator_server), headers=bearer(token))
    assert_rest_error(resp, 400, "PARTNER_AUTHENTICATION_FAILED")


def test_right_account_on_the_wrong_base_uri(emulator_server, admin_token):
    url = connect_url(emulator_server, account_id=TEST_ACCOUNT_2_ID, shard="na3")
    assert_rest_error(
        web.get(url, headers=bearer(admin_token)), 400, "PARTNER_AUTHENTICATION_FAILED"
    )
    ok = connect_url(emulator_server, account_id=TEST_ACCOUNT_2_ID, shard="eu")
    assert web.get(ok, headers=bearer(admin_token)).status_code == 200


def test_non_admin_is_403_user_lacks_permissions(emulator, emulator_server):
    token = emulator.issue_tokens(TEST_CLIENT_ID, TEST_NON_ADMIN_USER_ID)["access_token"]
    resp = web.get(connect_url(emulator_server), headers=bearer(token))
    assert_rest_error(resp, 403, "USER_LACKS_PERMISSIONS")


def test_connect_not_enabled(emulator, emulator_server, admin_token):
    emulator.set_connect_enabled(TEST_ACCOUNT_1_ID, False)
    resp = web.get(connect_url(emulator_server), headers=bearer(admin_token))
    assert_rest_error(resp, 400, "CONNECT_NOT_ENABLED")


# --- OAuth for Connect, failures, logs ---------------------------------------------------------


def test_connect_oauth_requires_server_url_client_id_and_secret(emulator_server, admin_token):
    resp = web.post(
        connect_url(emulator_server, tail="/oauth"),
        json={"clientId": "c", "clientSecret": "s"},
        headers=bearer(admin_token),
    )
    assert_rest_error(resp, 400, "INVALID_REQUEST_PARAMETER")


def test_failures_and_logs_are_empty_lists_at_first(emulator_server, admin_token):
    failures = web.get(connect_url(emulator_server, tail="/failures"), headers=bearer(admin_token))
    logs = web.get(connect_url(emulator_server, tail="/logs"), headers=bearer(admin_token))
    assert failures.json() == {"failures": [], "totalRecords": "0"}
    assert logs.json() == {"logs": [], "totalRecords": "0"}


def test_unknown_rest_path_is_404(emulator_server, admin_token):
    resp = web.get(connect_url(emulator_server, tail="/nothing/here"), headers=bearer(admin_token))
    assert resp.status_code == 404
