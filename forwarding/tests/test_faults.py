"""Faults of the partner's endpoint, each against a real local socket: an attempt recorded with its
reason (a sentence for the partner, not exception text) and retried on the schedule, with the
clock injected. Redirects, 429, 500 and timeouts are in test_deliveries.py."""

import random
import socket
from datetime import datetime, timedelta

import pytest

from forwarding import schedule
from forwarding.models import Delivery, DeliveryAttempt
from forwarding.services.deliveries import delivery_attempt
from forwarding.services.destinations import destination_create
from forwarding.tests.sink import Answer, Sink

pytestmark = pytest.mark.django_db

RESET = "Connection failed: The destination reset the connection without answering."


@pytest.fixture
def tls_sink():
    sink = Sink(tls=True)
    yield sink
    sink.close()


def _destination(tenant, url: str):
    destination, _ = destination_create(
        integration=tenant.integration,
        name="Partner app",
        url=url,
        event_types=[],
        tenant_ids=[],
        actor=None,
    )
    return destination


def _fails_and_waits_its_turn(delivery: Delivery, *, now: datetime, rng, reason: str) -> datetime:
    """One failed attempt at `now`, recorded with `reason`; not tried again before the schedule's
    wait for this failure (± jitter). Returns when the next attempt is due."""
    failures_before = delivery.attempt_count
    assert delivery_attempt(delivery_id=delivery.pk, now=now, rng=rng).status == "failed"
    delivery.refresh_from_db()
    attempt = DeliveryAttempt.objects.filter(delivery=delivery).first()
    assert (attempt.succeeded, attempt.attempted_at, attempt.error) == (False, now, reason)
    assert delivery.last_error == reason
    assert (delivery.status, delivery.attempt_count) == ("pending", failures_before + 1)
    assert delivery.leased_until is None
    planned = schedule.RETRY_DELAYS_S[failures_before]
    wait = (delivery.next_attempt_at - now).total_seconds()
    assert planned * (1 - schedule.JITTER) <= wait <= planned * (1 + schedule.JITTER)
    early = delivery.next_attempt_at - timedelta(seconds=1)
    assert delivery_attempt(delivery_id=delivery.pk, now=early, rng=rng).status == "not_due"
    return delivery.next_attempt_at


def test_an_untrusted_certificate_is_an_attempt_with_its_reason_retried_on_schedule(
    tls_sink, tenant, stored_event
):
    assert tls_sink.url.startswith("https://")
    _destination(tenant, tls_sink.url)
    delivery = Delivery.objects.get(event=stored_event())
    rng = random.Random(3)
    reason = "TLS error: The destination's TLS certificate is not trusted: it is self-signed."

    due = _fails_and_waits_its_turn(delivery, now=delivery.next_attempt_at, rng=rng, reason=reason)
    _fails_and_waits_its_turn(delivery, now=due, rng=rng, reason=reason)

    assert tls_sink.received == []  # the handshake failed: not a byte of the event was sent
    attempts = DeliveryAttempt.objects.filter(delivery=delivery)
    assert [(a.status_code, a.response_excerpt) for a in attempts] == [(None, ""), (None, "")]


def test_a_connection_reset_is_an_attempt_with_its_reason_and_the_retry_delivers(
    sink, destination_with_secret, stored_event
):
    sink.answers = [Answer(reset=True)]
    delivery = Delivery.objects.get(event=stored_event())
    rng = random.Random(4)

    due = _fails_and_waits_its_turn(delivery, now=delivery.next_attempt_at, rng=rng, reason=RESET)
    assert delivery_attempt(delivery_id=delivery.pk, now=due, rng=rng).status == "delivered"

    first, second = sink.received  # the reset one did arrive: at least once, same webhook-id
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.webhook_id
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error) == (Delivery.Status.SUCCEEDED, "")


def test_an_html_error_page_is_an_attempt_with_its_status_type_and_first_bytes(
    sink, destination_with_secret, stored_event
):
    page = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>" + (
        b"<p>nginx</p>" * 100
    )
    sink.default = Answer(502, {"Content-Type": "text/html; charset=utf-8"}, page)
    delivery = Delivery.objects.get(event=stored_event())
    rng = random.Random(5)

    due = _fails_and_waits_its_turn(
        delivery, now=delivery.next_attempt_at, rng=rng, reason="HTTP 502 (text/html)."
    )
    _fails_and_waits_its_turn(delivery, now=due, rng=rng, reason="HTTP 502 (text/html).")

    attempt = DeliveryAttempt.objects.filter(delivery=delivery).first()
    assert attempt.status_code == 502
    assert attempt.response_excerpt == page[:500].decode()
    assert attempt.latency_ms is not None


def test_a_host_name_that_resolves_to_a_private_address_at_delivery_time_is_refused(
    sink, tenant, stored_event, settings, monkeypatch
):
    # DNS rebinding: the name passed every check when it was saved; at delivery time it answers
    # with an address inside the network. Nothing may be sent there.
    settings.OUTBOUND_ALLOWED_HOSTS = []
    _destination(tenant, "https://hooks.partner.example/docusign")
    real = socket.getaddrinfo
    looked_up = []

    def rebinding(host, port, *args, **kwargs):
        if host == "hooks.partner.example":
            looked_up.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.20.30.40", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    connected = []
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: connected.append(a))
    delivery = Delivery.objects.get(event=stored_event())
    rng = random.Random(6)
    reason = (
        "Refused: hooks.partner.example resolves to a private, loopback or link-local address; "
        "refused."
    )

    due = _fails_and_waits_its_turn(delivery, now=delivery.next_attempt_at, rng=rng, reason=reason)
    _fails_and_waits_its_turn(delivery, now=due, rng=rng, reason=reason)

    assert looked_up == ["hooks.partner.example"] * 2  # resolved again on every attempt
    assert connected == []
    assert sink.received == []
