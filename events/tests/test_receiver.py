"""The Connect receiver, fed crafted messages: what it accepts, what it refuses, and that a refusal
stores nothing."""

import base64
import json

import pytest
from django.db import connection
from django.test import override_settings

from docusign_emulator.testing import TEST_ACCOUNT_2_ID
from events.models import ConnectEvent, PartnerHmacKey, TenantEventDay, TenantEventHealth
from events.tests.helpers import (
    HOOK_PATH,
    KEY_NEW,
    KEY_OLD,
    encode,
    message,
    post,
    sign,
    signed_headers,
)

pytestmark = pytest.mark.django_db


def _assert_refused(response, status, nothing_stored=True):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]
    if nothing_stored:
        assert ConnectEvent.objects.count() == 0


def test_signed_event_is_stored_routed_to_its_tenant_and_counted(
    client, linked_tenant, django_capture_on_commit_callbacks
):
    payload = message(event="recipient-completed", recipientId="1")
    body = encode(payload)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, body, **signed_headers(body, KEY_OLD))
    assert response.status_code == 200
    assert response.json()["status"] == "stored"
    event = ConnectEvent.objects.get()
    assert event.tenant == linked_tenant
    assert event.payload == payload
    assert (event.event, event.envelope_id, event.recipient_id) == (
        "recipient-completed",
        payload["data"]["envelopeId"],
        "1",
    )
    assert event.configuration_id == "10001"
    assert event.auth_method == ConnectEvent.AuthMethod.HMAC
    assert event.processed_at is not None
    health = TenantEventHealth.objects.get(tenant=linked_tenant)
    assert health.events_total == 1
    assert health.last_event_id == event.pk
    assert TenantEventDay.objects.get(tenant=linked_tenant).count == 1


def test_right_signature_only_in_signature_2_is_accepted(client, linked_tenant):
    body = encode(message())
    headers = {
        "HTTP_X_DOCUSIGN_SIGNATURE_1": sign("some-other-key-not-ours-123456", body),
        "HTTP_X_DOCUSIGN_SIGNATURE_2": sign(KEY_OLD, body),
    }
    assert post(client, body, **headers).status_code == 200
    assert ConnectEvent.objects.count() == 1


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("not base64 at all!!", id="non-base64"),
        pytest.param(base64.b64encode(b"x" * 32).decode(), id="wrong"),
    ],
)
def test_bad_signature_is_refused_with_401(client, linked_tenant, signature):
    body = encode(message())
    headers = {"HTTP_X_DOCUSIGN_ACCOUNTID": linked_tenant.account.account_id}
    if signature is not None:
        headers["HTTP_X_DOCUSIGN_SIGNATURE_1"] = signature
    _assert_refused(post(client, body, **headers), 401)


def _flip_bit(body: bytes) -> bytes:
    middle = len(body) // 2
    return body[:middle] + bytes([body[middle] ^ 0x01]) + body[middle + 1 :]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(_flip_bit, id="flipped-bit"),
        pytest.param(lambda b: b + b"\n", id="newline-added"),
        pytest.param(lambda b: b.rstrip(b"\n"), id="newline-removed"),
        pytest.param(lambda b: json.dumps(json.loads(b), indent=1).encode(), id="re-serialised"),
    ],
)
def test_body_changed_after_signing_is_refused(client, linked_tenant, tamper):
    signed_body = json.dumps(message(), indent=None).encode() + b"\n"
    headers = signed_headers(signed_body, KEY_OLD)
    changed = tamper(signed_body)
    assert changed != signed_body
    response = post(client, changed, **headers)
    # A flipped bit may also break the JSON or the UTF-8: refused either way, nothing stored.
    assert response.status_code in (400, 401)
    assert ConnectEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param(b"", 400, id="empty"),
        pytest.param(b"this is not json", 400, id="non-json"),
        pytest.param(b"\xff\xfe{}", 400, id="not-utf8"),
        pytest.param(b"[1, 2, 3]", 400, id="array"),
        pytest.param(b'"a string"', 400, id="string"),
        pytest.param(b'{"data": ' * 40 + b"{}" + b"}" * 40, 400, id="nested-40"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, 400, id="nested-100000"),
    ],
)
def test_malformed_body_is_refused_with_400(client, linked_tenant, body, status):
    _assert_refused(post(client, body, **signed_headers(body, KEY_OLD)), status)


def _with_data_value(raw_json_value: str) -> bytes:
    """A valid message whose data.note is `raw_json_value`, spelled exactly as given."""
    body = encode(message(note="PLACEHOLDER"))
    return body.replace(b'"PLACEHOLDER"', raw_json_value.encode())


@pytest.mark.parametrize(("levels", "status"), [(32, 200), (33, 400)])
def test_nesting_is_accepted_up_to_the_limit_and_refused_beyond(
    client, linked_tenant, levels, status
):
    # The message object is level 1 and data level 2; data.note holds the remaining levels.
    arrays = levels - 2
    body = _with_data_value("[" * arrays + "]" * arrays)
    response = post(client, body, **signed_headers(body, KEY_OLD))
    assert response.status_code == status
    assert ConnectEvent.objects.count() == (1 if status == 200 else 0)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("NaN", id="nan"),
        pytest.param("Infinity", id="infinity"),
        pytest.param("-Infinity", id="minus-infinity"),
        pytest.param("1e999", id="float-out-of-range"),
        pytest.param('"a\\u0000b"', id="nul-in-string"),
        # jsonb refuses it; SQLite stores the escaped text, which is harmless.
        pytest.param(
            '"\\ud800"',
            id="unpaired-surrogate",
            marks=pytest.mark.skipif(connection.vendor != "postgresql", reason="jsonb"),
        ),
    ],
)
@pytest.mark.parametrize("after_another", [False, True], ids=["first-event", "later-event"])
def test_values_the_database_cannot_store_are_refused_with_400(
    client, linked_tenant, value, after_another
):
    """Refused as bad input, not a 503: DocuSign would retry a 503 forever. Both as an account's
    first event and after one was stored (a warm connection)."""
    stored = 0
    if after_another:
        good = encode(message())
        assert post(client, good, **signed_headers(good, KEY_OLD)).status_code == 200
        stored = 1
    body = _with_data_value(value)
    response = post(client, body, **signed_headers(body, KEY_OLD))
    assert response.status_code == 400, response.content
    assert response.json()["error"]
    assert ConnectEvent.objects.count() == stored


def test_escaped_backslash_before_u0000_text_is_not_a_nul(client, linked_tenant):
    # "\\u0000" in JSON is a backslash followed by the text u0000, not the character U+0000.
    body = _with_data_value('"C:\\\\u0000"')
    assert post(client, body, **signed_headers(body, KEY_OLD)).status_code == 200
    assert ConnectEvent.objects.get().payload["data"]["note"] == "C:\\u0000"


@override_settings(CONNECT_EVENT_MAX_BYTES=2048)
def test_oversized_body_is_refused_with_413(client, linked_tenant):
    body = encode(message(note="x" * 4096))
    _assert_refused(post(client, body, **signed_headers(body, KEY_OLD)), 413)


@override_settings(CONNECT_EVENT_MAX_BYTES=2048)
def test_declared_length_over_the_limit_is_refused_before_reading(client, linked_tenant):
    body = encode(message())
    headers = signed_headers(body, KEY_OLD)
    response = client.generic(
        "POST", HOOK_PATH, body, content_type="application/json", CONTENT_LENGTH="999999", **headers
    )
    _assert_refused(response, 413)


def test_account_of_no_tenant_is_refused(client, linked_tenant):
    body = encode(message(account_id=TEST_ACCOUNT_2_ID))
    response = post(client, body, **signed_headers(body, KEY_OLD, account_id=TEST_ACCOUNT_2_ID))
    _assert_refused(response, 400)
    assert "not linked" in response.json()["error"]


def test_account_header_disagreeing_with_the_body_is_refused(client, linked_tenant):
    body = encode(message())
    response = post(client, body, **signed_headers(body, KEY_OLD, account_id=TEST_ACCOUNT_2_ID))
    _assert_refused(response, 400)


@pytest.mark.parametrize("missing", ["event", "configurationId", "generatedDateTime"])
def test_message_without_its_identity_is_refused(client, linked_tenant, missing):
    payload = message()
    del payload[missing]
    body = encode(payload)
    _assert_refused(post(client, body, **signed_headers(body, KEY_OLD)), 400)


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_answer_405_in_json(client, linked_tenant, method):
    response = getattr(client, method)(HOOK_PATH)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json() == {"error": "Only POST is accepted here."}


def test_redelivery_answers_200_and_stores_nothing_new(client, linked_tenant):
    first = message()
    body = encode(first)
    assert post(client, body, **signed_headers(body, KEY_OLD)).json()["status"] == "stored"
    redelivery = {**first, "retryCount": 1}
    body = encode(redelivery)
    response = post(client, body, **signed_headers(body, KEY_OLD))
    assert response.status_code == 200
    assert response.json()["status"] == "duplicate"
    assert ConnectEvent.objects.count() == 1


def test_same_envelope_with_another_event_is_a_new_row(client, linked_tenant):
    sent = message(event="envelope-sent")
    completed = {**sent, "event": "envelope-completed"}
    for payload in (sent, completed):
        body = encode(payload)
        assert post(client, body, **signed_headers(body, KEY_OLD)).status_code == 200
    assert ConnectEvent.objects.count() == 2


def test_two_active_keys_both_verify_and_a_deactivated_key_does_not(client, linked_tenant):
    PartnerHmacKey.objects.create(
        integration=linked_tenant.integration, label="new", secret=KEY_NEW, created_by_label="t"
    )
    for key in (KEY_OLD, KEY_NEW):
        body = encode(message())
        assert post(client, body, **signed_headers(body, key)).status_code == 200
    PartnerHmacKey.objects.filter(label="old").update(deactivated_at="2030-01-01T00:00:00Z")
    body = encode(message())
    assert post(client, body, **signed_headers(body, KEY_OLD)).status_code == 401
    body = encode(message())
    assert post(client, body, **signed_headers(body, KEY_NEW)).status_code == 200
    assert ConnectEvent.objects.count() == 3


def test_integration_without_keys_refuses_signed_events(client, linked_tenant):
    PartnerHmacKey.objects.all().delete()
    body = encode(message())
    _assert_refused(post(client, body, **signed_headers(body, KEY_OLD)), 401)


@pytest.mark.django_db(transaction=True)
def test_database_down_answers_503_so_docusign_retries(client, linked_tenant):
    body = encode(message())
    headers = signed_headers(body, KEY_OLD)
    saved = dict(connection.settings_dict)
    # Point the connection at a database that cannot be reached, as when the server is down.
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-dir/portal.sqlite3"
    else:
        connection.settings_dict["PORT"] = "1"
    try:
        response = post(client, body, **headers)
    finally:
        connection.close()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.json()["error"]
    assert ConnectEvent.objects.count() == 0
