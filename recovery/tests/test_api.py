"""The partner API's republish: one call republishes an outage window; bad input is a problem
document naming the field; nothing in scope is a 409."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apikeys.models import Scope
from common.models import AuditEvent, BulkOperation
from docusign_emulator.testing import TEST_ACCOUNT_1_ID
from events.models import ConnectEvent
from recovery.models import DeliveryFailure
from recovery.services.failures import delivery_failures_copy

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/delivery-failures/republish/"


def test_the_api_republishes_an_outage_window_and_the_events_come_back(
    api, emulator, listener, tenant
):
    listener.down()
    start = timezone.now() - timedelta(seconds=1)
    emulator.simulate_envelopes(TEST_ACCOUNT_1_ID, count=2, statuses=["completed"])
    delivery_failures_copy(tenant_id=tenant.pk)
    listener.up()
    client = api(scopes=[Scope.BULK_WRITE])

    response = client.post(
        URL, {"start": start.isoformat(), "end": timezone.now().isoformat()}, format="json"
    )

    assert response.status_code == 202, response.content
    assert response.json()["kind"] == BulkOperation.Kind.CONNECT_REPUBLISH
    assert set(DeliveryFailure.objects.values_list("state", flat=True)) == {"recovered"}
    assert ConnectEvent.objects.count() == 2
    assert AuditEvent.objects.filter(action="recovery.republish.start").exists()


def test_bad_input_names_the_field_and_an_empty_scope_is_a_conflict(api, db):
    client = api(scopes=[Scope.BULK_WRITE])
    backwards = client.post(
        URL, {"start": "2026-12-03T10:00:00Z", "end": "2026-12-03T09:00:00Z"}, format="json"
    )
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["field"] == "end"
    unknown = client.post(URL, {"tenants": 1}, format="json")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "tenants"
    missing = client.post(URL, {"tenant": 999999}, format="json")
    assert missing.status_code == 404
    empty = client.post(URL, {}, format="json")
    assert empty.status_code == 409
    assert "No unrecovered failure" in empty.json()["detail"]
    assert not BulkOperation.objects.exists()
