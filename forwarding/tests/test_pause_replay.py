"""A destination failing continuously is paused with an alert and resumes by a click, delivering
its backlog in order; dead deliveries and a tenant's events are replayed, audited; expired
events are purged unless still being delivered."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from common.models import AuditEvent
from events.models import ConnectEvent
from events.services.retention import connect_events_purge
from forwarding.models import Delivery, Destination
from forwarding.services.deliveries import delivery_attempt
from forwarding.services.destinations import destination_create, destination_resume
from forwarding.services.replay import (
    deliveries_replay_dead,
    delivery_replay,
    tenant_events_replay,
)
from forwarding.tests.sink import Answer

pytestmark = pytest.mark.django_db


def _fail_until_paused(sink, destination, stored_event, settings) -> Delivery:
    settings.FORWARDING_PAUSE_AFTER_S = 3600
    settings.STAFF_ALERT_EMAILS = ["ops@partner.test"]
    sink.default = Answer(503, {"Content-Type": "text/plain"}, b"down for maintenance")
    delivery = Delivery.objects.get(event=stored_event())
    now = timezone.now()
    while not Destination.objects.get(pk=destination.pk).is_paused:
        assert delivery_attempt(delivery_id=delivery.pk, now=now).status == "failed"
        delivery.refresh_from_db()
        now = delivery.next_attempt_at
    return delivery


def test_a_destination_failing_for_the_configured_time_is_paused_with_an_alert(
    sink, destination_with_secret, stored_event, settings, django_capture_on_commit_callbacks
):
    destination, _ = destination_with_secret
    with django_capture_on_commit_callbacks(execute=True):
        delivery = _fail_until_paused(sink, destination, stored_event, settings)
    destination.refresh_from_db()
    assert destination.pause_reason == "HTTP 503 (text/plain)."
    assert (destination.paused_at - destination.failing_since).total_seconds() >= 3600
    assert AuditEvent.objects.filter(action="forwarding.destination.pause").count() == 1
    (alert,) = mail.outbox
    assert "paused" in alert.subject
    assert destination.url in alert.body
    # Paused: nothing is sent, nothing is lost.
    sent = len(sink.received)
    later = timezone.now() + timedelta(days=1)
    assert delivery_attempt(delivery_id=delivery.pk, now=later).status == "paused"
    assert len(sink.received) == sent
    assert Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.PENDING


def test_resume_delivers_the_backlog_in_the_order_the_events_arrived(
    sink, destination_with_secret, stored_event, settings, django_capture_on_commit_callbacks
):
    destination, _ = destination_with_secret
    first = _fail_until_paused(sink, destination, stored_event, settings)
    envelope = "41111111-2222-4333-8444-555555555555"
    backlog = [
        stored_event(event=f"envelope-{name}", envelope_id=envelope)
        for name in ("sent", "delivered", "voided")
    ]
    sink.received.clear()
    sink.default = Answer(200)
    with django_capture_on_commit_callbacks(execute=True):
        assert destination_resume(destination=destination, actor=None) == 4
    assert len(sink.received) == 4
    # Taken oldest first: the first claim takes the oldest delivery and the first of the
    # envelope (sent at once, so they may arrive and be recorded in either order); the envelope's
    # others strictly in the order its events arrived, each once the one before was delivered.
    attempted = Delivery.objects.filter(attempts__succeeded=True).order_by("attempts__id")
    attempted_ids = list(attempted.values_list("event_id", flat=True))
    assert set(attempted_ids[:2]) == {first.event_id, backlog[0].pk}
    assert [i for i in attempted_ids if i != first.event_id] == [e.pk for e in backlog]
    event_ids = [int(r.headers["webhook-id"].split("_")[1]) for r in sink.received]
    assert [i for i in event_ids if i != first.event_id] == [e.pk for e in backlog]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
    destination.refresh_from_db()
    assert not destination.is_paused
    assert destination.failing_since is None
    assert AuditEvent.objects.filter(action="forwarding.destination.resume").count() == 1


def test_a_dead_delivery_is_replayed_with_the_same_webhook_id(
    sink, destination_with_secret, stored_event, django_capture_on_commit_callbacks
):
    delivery = Delivery.objects.get(event=stored_event())
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.DEAD, attempt_count=15)
    delivery.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        delivery_replay(delivery=delivery, actor=None)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert sink.received[-1].headers["webhook-id"] == delivery.webhook_id
    assert AuditEvent.objects.filter(action="forwarding.replay.one").count() == 1


def test_every_dead_delivery_of_a_destination_is_replayed_and_others_are_left_alone(
    sink, destination_with_secret, stored_event, django_capture_on_commit_callbacks
):
    destination, _ = destination_with_secret
    dead = [Delivery.objects.get(event=stored_event()) for _ in range(3)]
    pending = Delivery.objects.get(event=stored_event())
    Delivery.objects.filter(pk__in=[d.pk for d in dead]).update(status=Delivery.Status.DEAD)
    Delivery.objects.filter(pk=pending.pk).update(next_attempt_at=timezone.now() + timedelta(1))
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_replay_dead(destination=destination, actor=None) == 3
    assert len(sink.received) == 3
    assert Delivery.objects.get(pk=pending.pk).status == Delivery.Status.PENDING
    assert AuditEvent.objects.filter(action="forwarding.replay.dead").count() == 1


def test_a_tenants_events_in_a_time_range_are_replayed_even_to_a_new_destination(
    sink, tenant, stored_event, django_capture_on_commit_callbacks
):
    now = timezone.now()
    old = stored_event()
    ConnectEvent.objects.filter(pk=old.pk).update(received_at=now - timedelta(days=3))
    in_range = [stored_event(), stored_event()]
    # Added after those events arrived: it never had them.
    destination, _ = destination_create(
        integration=tenant.integration,
        name="Late",
        url=sink.url,
        event_types=[],
        tenant_ids=[],
        actor=None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        count = tenant_events_replay(
            destination=destination,
            tenant=tenant,
            since=now - timedelta(hours=1),
            until=now + timedelta(hours=1),
            actor=None,
        )
    assert count == 2
    ids = sorted(int(r.headers["webhook-id"].split("_")[1]) for r in sink.received)
    assert ids == sorted(e.pk for e in in_range)
    assert AuditEvent.objects.filter(action="forwarding.replay.tenant_range").count() == 1


def test_expired_events_are_purged_except_those_still_being_delivered(
    sink, destination_with_secret, stored_event, settings
):
    settings.EVENT_RETENTION_DAYS = 30
    long_ago = timezone.now() - timedelta(days=31)
    delivered, undelivered, recent = stored_event(), stored_event(), stored_event()
    delivery_attempt(delivery_id=Delivery.objects.get(event=delivered).pk)
    ConnectEvent.objects.filter(pk__in=[delivered.pk, undelivered.pk]).update(received_at=long_ago)
    assert connect_events_purge(batch=1) == 1
    assert set(ConnectEvent.objects.values_list("pk", flat=True)) == {undelivered.pk, recent.pk}
    assert not Delivery.objects.filter(event_id=delivered.pk).exists()
