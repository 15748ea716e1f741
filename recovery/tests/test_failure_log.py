"""Reading DocuSign's failure log, as the tenant's status reports it: how many failed deliveries
DocuSign reported have not come back, and why the log could not be read (audited once)."""

import pytest

from common.models import AuditEvent
from docusign_emulator.testing import TEST_ACCOUNT_1_ID
from recovery.services.republish import delivery_failures_republish
from recovery.tasks import delivery_failures_copy

pytestmark = pytest.mark.django_db(transaction=True)
FAILURES = "GET /restapi/connect/failures"


def _delivery(client, tenant) -> dict:
    response = client.get(f"/api/v1/tenants/{tenant.pk}/status/")
    assert response.status_code == 200, response.content
    return response.json()["delivery"]


def test_status_counts_the_failures_docusign_reported_until_they_come_back(
    api, emulator, listener, tenant, make_staff
):
    client = api()
    assert _delivery(client, tenant)["failures_count"] is None  # never read

    listener.down()
    emulator.simulate_envelopes(TEST_ACCOUNT_1_ID, count=2, statuses=["completed"])
    delivery_failures_copy.delay(tenant.pk)

    delivery = _delivery(client, tenant)
    assert (delivery["failures_count"], delivery["failures_error"]) == (2, "")
    assert delivery["failures_checked_at"] is not None

    listener.up()
    delivery_failures_republish(actor=make_staff(), tenant=tenant)
    assert _delivery(client, tenant)["failures_count"] == 0


def test_a_failure_log_that_cannot_be_read_is_shown_and_audited_once(
    api, emulator, listener, tenant
):
    emulator.fault(FAILURES, status=400, count=3)

    delivery_failures_copy.delay(tenant.pk)
    delivery_failures_copy.delay(tenant.pk)

    delivery = _delivery(api(), tenant)
    assert delivery["failures_error"].startswith("DocuSign answered")
    assert delivery["failures_checked_at"] is not None
    audits = AuditEvent.objects.filter(action="recovery.failures.copy", target_id=str(tenant.pk))
    assert [(a.outcome, a.actor_label) for a in audits] == [("failure", "scheduler")]
    assert delivery["failures_error"] in audits.get().message

    emulator.clear_faults()
    delivery_failures_copy.delay(tenant.pk)
    assert _delivery(api(), tenant)["failures_error"] == ""
