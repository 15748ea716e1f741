"""Matching a stored event to the failures it recovers: same tenant, envelope and status; only a
received event recovers anything."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import ConnectEvent
from events.tasks import connect_event_process
from recovery.models import DeliveryFailure
from recovery.services.matching import delivery_failures_match_event
from tenants.tests.factories import TenantAccountFactory

pytestmark = pytest.mark.django_db
State = DeliveryFailure.State
Source = DeliveryFailure.Source


@pytest.fixture
def tenant():
    return TenantAccountFactory().tenant


def event(tenant, envelope_id, name="envelope-completed"):
    return ConnectEvent.objects.create(
        tenant=tenant,
        account_id=tenant.account.account_id,
        configuration_id="1",
        event=name,
        envelope_id=envelope_id,
        generated_date_time="2026-12-03T10:00:00.0000000Z",
        payload={},
        auth_method=ConnectEvent.AuthMethod.HMAC,
    )


def failure(tenant, envelope_id, status, source=Source.FAILURE_LOG, **fields):
    return DeliveryFailure.objects.create(
        tenant=tenant,
        source=source,
        source_id=f"{source}-{envelope_id}-{status}",
        envelope_id=envelope_id,
        envelope_status=status,
        docusign_created_at=fields.pop("created", timezone.now() - timedelta(minutes=5)),
        **fields,
    )


def test_an_event_recovers_only_the_failures_of_its_envelope_and_status(tenant):
    completed = failure(tenant, "env-1", "completed")
    gap = failure(tenant, "env-1", "completed", source=Source.COMPLETENESS)
    sent = failure(tenant, "env-1", "sent")
    other = failure(tenant, "env-2", "completed")
    another = TenantAccountFactory(account_id="33333333-0000-4000-8000-000000000009").tenant
    other_tenant = failure(another, "env-1", "completed")
    stored = event(tenant, "env-1")

    assert delivery_failures_match_event(event_id=stored.pk) == 2
    assert delivery_failures_match_event(event_id=stored.pk) == 0  # safe to run twice

    for row in (completed, gap, sent, other, other_tenant):
        row.refresh_from_db()
    assert (completed.state, gap.state) == (State.RECOVERED, State.RECOVERED)
    assert completed.recovered_event_id == stored.pk
    assert {sent.state, other.state, other_tenant.state} == {State.OPEN}


def test_a_failure_naming_no_status_is_answered_by_a_later_event_of_its_envelope(tenant):
    unnamed = failure(tenant, "env-1", "")
    gap_unnamed = failure(tenant, "env-1", "", source=Source.COMPLETENESS)
    future = failure(
        tenant, "env-1", "", source=Source.CONNECT_LOG, created=timezone.now() + timedelta(hours=1)
    )
    delivery_failures_match_event(event_id=event(tenant, "env-1", "recipient-completed").pk)
    for row in (unnamed, gap_unnamed, future):
        row.refresh_from_db()
    assert unnamed.state == State.RECOVERED
    assert gap_unnamed.state == State.OPEN
    assert future.state == State.OPEN


def test_the_event_processing_task_does_the_matching(tenant):
    row = failure(tenant, "env-1", "completed", state=State.REPUBLISHED)
    connect_event_process(event(tenant, "env-1").pk)
    row.refresh_from_db()
    assert row.state == State.RECOVERED
