"""End to end: the emulator publishes signed Connect events to the portal running under
`live_server`; the portal verifies, stores once and counts them."""

import threading
import uuid

import pytest
import requests

from docusign_emulator.testing import TEST_ACCOUNT_1_ID, TEST_PARTNER_ACCOUNT_ID
from events.models import ConnectEvent, ListenerSettings, PartnerHmacKey, TenantEventHealth
from events.selectors import connect_event_detail
from events.tests.helpers import HOOK_PATH, KEY_NEW, KEY_OLD, encode, message, signed_headers
from tenants.tests.factories import TenantAccountFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tenant(emulator, emulator_integration):
    account = TenantAccountFactory(
        tenant__integration=emulator_integration, account_id=TEST_ACCOUNT_1_ID
    )
    return account.tenant


def _store_key(tenant, secret, label):
    return PartnerHmacKey.objects.create(
        integration=tenant.integration, label=label, secret=secret, created_by_label="tests"
    )


def _connect_config(emulator, live_server, **fields):
    body = {
        "name": "PartnerPortal: events test",
        "configurationType": "custom",
        "urlToPublishTo": live_server.url + HOOK_PATH,
        "allowEnvelopePublish": "true",
        "enableLog": "true",
        "requiresAcknowledgement": "true",
        "deliveryMode": "SIM",
        "eventData": {"version": "restv2.1"},
        "events": ["envelope-sent", "envelope-completed", "recipient-completed"],
        "integratorManaged": "true",
        "includeHMAC": "true",
        **fields,
    }
    return emulator.drift_create(TEST_ACCOUNT_1_ID, body)


def _publish(emulator, event="envelope-completed", **kw):
    deliveries = emulator.publish_event(TEST_ACCOUNT_1_ID, event, **kw)
    assert len(deliveries) == 1
    return deliveries[0]


def test_emulator_publishes_and_the_portal_verifies_stores_and_counts(
    emulator, live_server, tenant
):
    _store_key(tenant, KEY_OLD, "current")
    emulator.set_partner_hmac_keys(TEST_PARTNER_ACCOUNT_ID, [KEY_OLD])
    config = _connect_config(emulator, live_server)
    envelope_id = str(uuid.uuid4())

    delivery = _publish(emulator, envelope_id=envelope_id)

    assert delivery["status"] == "delivered", delivery
    event = ConnectEvent.objects.get()
    assert event.tenant_id == tenant.pk
    assert event.envelope_id == envelope_id
    assert event.configuration_id == config["connectId"]
    assert event.auth_method == ConnectEvent.AuthMethod.HMAC
    assert event.processed_at is not None
    assert TenantEventHealth.objects.get(tenant=tenant).events_total == 1


def test_event_signed_with_a_key_the_portal_lacks_is_refused_and_queued_by_docusign(
    emulator, live_server, tenant
):
    _store_key(tenant, KEY_OLD, "current")
    emulator.set_partner_hmac_keys(TEST_PARTNER_ACCOUNT_ID, [KEY_NEW])
    _connect_config(emulator, live_server)

    delivery = _publish(emulator)

    assert delivery["status"] == "failed"
    assert delivery["statusCode"] == 401
    assert ConnectEvent.objects.count() == 0
    failures = emulator.state()["failures"]
    assert len(failures) == 1  # requiresAcknowledgement: DocuSign will retry it


def test_key_rotation_with_two_active_keys_loses_nothing(emulator, live_server, tenant):
    old = _store_key(tenant, KEY_OLD, "2025 key")
    emulator.set_partner_hmac_keys(TEST_PARTNER_ACCOUNT_ID, [KEY_OLD])
    _connect_config(emulator, live_server)
    envelopes = []

    def publish_ok():
        envelope_id = str(uuid.uuid4())
        envelopes.append(envelope_id)
        assert _publish(emulator, envelope_id=envelope_id)["status"] == "delivered"

    publish_ok()  # old key only
    _store_key(tenant, KEY_NEW, "2026 key")  # 1. the portal learns the new key
    publish_ok()
    emulator.set_partner_hmac_keys(TEST_PARTNER_ACCOUNT_ID, [KEY_NEW, KEY_OLD])  # 2. DocuSign adds
    publish_ok()
    emulator.set_partner_hmac_keys(TEST_PARTNER_ACCOUNT_ID, [KEY_NEW])  # 3. DocuSign drops old
    publish_ok()
    old.deactivated_at = old.created_at  # 4. the portal deactivates the old key
    old.save()
    publish_ok()

    assert sorted(ConnectEvent.objects.values_list("envelope_id", flat=True)) == sorted(envelopes)

    # A message signed only with the deactivated key is refused from now on.
    emulator.set_partner_hmac_keys(TEST_PARTNER_ACCOUNT_ID, [KEY_OLD])
    assert _publish(emulator)["statusCode"] == 401
    assert ConnectEvent.objects.count() == len(envelopes)


def test_same_event_delivered_three_times_concurrently_makes_one_row(live_server, tenant):
    _store_key(tenant, KEY_OLD, "current")
    body = encode(message())
    headers = {
        "Content-Type": "application/json",
        "X-DocuSign-AccountId": TEST_ACCOUNT_1_ID,
        "X-DocuSign-Signature-1": signed_headers(body, KEY_OLD)["HTTP_X_DOCUSIGN_SIGNATURE_1"],
    }
    barrier = threading.Barrier(3)
    answers = []

    def deliver():
        barrier.wait(timeout=10)
        answers.append(
            requests.post(live_server.url + HOOK_PATH, data=body, headers=headers, timeout=30)
        )

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert sorted(a.json()["status"] for a in answers) == ["duplicate", "duplicate", "stored"]
    assert ConnectEvent.objects.count() == 1
    assert TenantEventHealth.objects.get(tenant=tenant).events_total == 1


def test_document_bytes_in_a_payload_are_stored_but_never_displayed(emulator, live_server, tenant):
    _store_key(tenant, KEY_OLD, "current")
    emulator.set_partner_hmac_keys(TEST_PARTNER_ACCOUNT_ID, [KEY_OLD])
    _connect_config(
        emulator,
        live_server,
        eventData={"version": "restv2.1", "includeData": ["documents", "recipients"]},
    )
    assert _publish(emulator)["status"] == "delivered"
    event = ConnectEvent.objects.get()
    documents = event.payload["data"]["envelopeSummary"]["envelopeDocuments"]
    assert documents[0]["PDFBytes"]

    shown = connect_event_detail(event_id=event.pk)["payload_display"]

    assert documents[0]["PDFBytes"] not in shown
    assert "base64 document bytes removed" in shown
    assert "Agreement.pdf" in shown


def test_basic_credentials_alone_authenticate_when_hmac_is_not_required(
    emulator, live_server, tenant
):
    ListenerSettings.objects.create(
        integration=tenant.integration,
        require_hmac=False,
        basic_username="docusign",
        basic_password="listener-password-123",
    )
    _connect_config(
        emulator,
        live_server,
        includeHMAC="false",
        userName="docusign",
        password="listener-password-123",
    )
    assert _publish(emulator)["status"] == "delivered"
    assert ConnectEvent.objects.get().auth_method == ConnectEvent.AuthMethod.BASIC


def test_wrong_basic_credentials_are_refused(emulator, live_server, tenant):
    ListenerSettings.objects.create(
        integration=tenant.integration,
        require_hmac=False,
        basic_username="docusign",
        basic_password="listener-password-123",
    )
    _connect_config(
        emulator, live_server, includeHMAC="false", userName="docusign", password="guessed"
    )
    assert _publish(emulator)["statusCode"] == 401
    assert ConnectEvent.objects.count() == 0
