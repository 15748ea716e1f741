"""/metrics after forwarding work: attempts by outcome, the backlog, and a delivery whose worker's
lease ran out."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from forwarding.models import Delivery
from forwarding.services.deliveries import delivery_attempt

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-forwarding-tests"


def _scrape(client) -> dict[tuple[str, tuple], float]:
    with override_settings(METRICS_TOKEN=TOKEN):
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_forwarding_attempts_and_backlog_are_exposed(
    client, sink, destination_with_secret, stored_event
):
    delivered = ("portal_forwarding_attempts_total", (("outcome", "delivered"),))
    before = _scrape(client)
    first = Delivery.objects.get(event=stored_event())
    stale = Delivery.objects.get(event=stored_event())
    Delivery.objects.filter(pk=stale.pk).update(
        leased_until=timezone.now() - timedelta(minutes=1),
        next_attempt_at=timezone.now() - timedelta(minutes=5),
    )

    waiting = _scrape(client)
    assert delivery_attempt(delivery_id=first.pk).status == "delivered"
    after = _scrape(client)

    assert waiting[("portal_forwarding_backlog", (("status", "pending"),))] == 2
    assert waiting[("portal_work_lease_expired", (("kind", "forwarding"),))] == 1
    assert waiting[("portal_forwarding_oldest_due_seconds", ())] >= 5 * 60
    assert after[("portal_forwarding_backlog", (("status", "pending"),))] == 1
    assert after[delivered] == before.get(delivered, 0) + 1
    latency = ("portal_forwarding_attempt_duration_seconds_count", (("outcome", "delivered"),))
    assert after[latency] == before.get(latency, 0) + 1
    assert after[("portal_forwarding_destinations_paused", ())] == 0
