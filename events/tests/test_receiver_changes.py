"""The receiver through Django's whole request cycle: the security headers and request id without a
session or CSRF cookie, every change to keys, listener settings or account links applies to the
very next event, a dead pooled connection is replaced without an error, and each committed event
reaches Celery as its own task."""

import base64
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from kombu.exceptions import OperationalError as KombuOperationalError

from common.leases import broker_redis
from events.models import ConnectEvent, PartnerHmacKey
from events.services.listener import (
    hmac_key_add,
    hmac_key_deactivate,
    listener_settings_update,
)
from events.services.processing import QUEUED_KEY, connect_event_processing_started
from events.tasks import connect_event_process, connect_events_sweep
from events.tests.helpers import KEY_NEW, KEY_OLD, encode, message, post, signed_headers
from portal.celery import app as celery_app
from tenants.tests.factories import TenantFactory
from testing.processes import postgres_connection_drop
from testing.wait import wait_until

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="terminates a PostgreSQL backend"
)


def _deliver(client, *keys, **payload_fields):
    body = encode(message(**payload_fields))
    return post(client, body, **signed_headers(body, *keys))


def test_webhook_keeps_security_headers_and_request_id_without_session_or_csrf(
    client, linked_tenant
):
    response = _deliver(client, KEY_OLD)
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert len(response["X-Request-ID"]) >= 8
    assert "Set-Cookie" not in response
    assert "csrftoken" not in response.cookies


def test_webhook_with_a_host_outside_allowed_hosts_is_refused(client, linked_tenant):
    body = encode(message())
    response = post(client, body, HTTP_HOST="evil.example", **signed_headers(body, KEY_OLD))
    assert response.status_code == 400
    assert ConnectEvent.objects.count() == 0


def test_redelivery_with_a_higher_retry_count_answers_duplicate(client, linked_tenant):
    payload = message()
    body = encode(payload)
    assert post(client, body, **signed_headers(body, KEY_OLD)).json()["status"] == "stored"
    body = encode({**payload, "retryCount": 2})
    response = post(client, body, **signed_headers(body, KEY_OLD))
    assert response.status_code == 200
    assert response.json()["status"] == "duplicate"
    assert ConnectEvent.objects.count() == 1


def test_key_added_after_an_earlier_event_verifies_the_next_event(client, linked_tenant):
    assert _deliver(client, KEY_OLD).status_code == 200
    hmac_key_add(integration=linked_tenant.integration, label="new", secret=KEY_NEW, actor=None)
    assert _deliver(client, KEY_NEW).status_code == 200
    assert ConnectEvent.objects.count() == 2


def test_key_deactivated_after_an_earlier_event_stops_verifying_at_once(client, linked_tenant):
    hmac_key_add(integration=linked_tenant.integration, label="new", secret=KEY_NEW, actor=None)
    assert _deliver(client, KEY_OLD).status_code == 200
    old = PartnerHmacKey.objects.get(label="old")
    hmac_key_deactivate(integration=linked_tenant.integration, key_id=old.pk, actor=None)
    response = _deliver(client, KEY_OLD)
    assert response.status_code == 401
    assert _deliver(client, KEY_NEW).status_code == 200
    assert ConnectEvent.objects.count() == 2


def test_key_deactivated_by_another_process_stops_verifying_at_once(client, linked_tenant):
    # A plain UPDATE, as another web process or a database console would make it: no signal
    # and nothing to invalidate, because every delivery reads the active keys afresh.
    assert _deliver(client, KEY_OLD).status_code == 200
    PartnerHmacKey.objects.filter(label="old").update(deactivated_at="2030-01-01T00:00:00Z")
    assert _deliver(client, KEY_OLD).status_code == 401
    assert ConnectEvent.objects.count() == 1


def test_changed_basic_password_applies_to_the_next_event(client, linked_tenant):
    listener_settings_update(
        integration=linked_tenant.integration,
        actor=None,
        require_hmac=False,
        basic_username="docusign",
        basic_password="first-password-123",
        oauth_enabled=False,
        oauth_client_id="",
    )

    def basic(password):
        body = encode(message())
        token = base64.b64encode(f"docusign:{password}".encode()).decode()
        return post(client, body, HTTP_AUTHORIZATION=f"Basic {token}")

    assert basic("first-password-123").status_code == 200
    listener_settings_update(
        integration=linked_tenant.integration,
        actor=None,
        require_hmac=False,
        basic_username="docusign",
        basic_password="second-password-456",
        oauth_enabled=False,
        oauth_client_id="",
    )
    assert basic("first-password-123").status_code == 401
    assert basic("second-password-456").status_code == 200
    assert ConnectEvent.objects.count() == 2


def test_account_moved_to_another_tenant_routes_the_next_event_there(client, linked_tenant):
    assert _deliver(client, KEY_OLD).status_code == 200
    other = TenantFactory(integration=linked_tenant.integration)
    account = linked_tenant.account
    account.tenant = other
    account.save()
    assert _deliver(client, KEY_OLD).status_code == 200
    assert ConnectEvent.objects.order_by("id").last().tenant_id == other.pk


def test_account_unlinked_after_an_earlier_event_is_refused(client, linked_tenant):
    assert _deliver(client, KEY_OLD).status_code == 200
    linked_tenant.account.delete()
    assert _deliver(client, KEY_OLD).status_code == 400
    assert ConnectEvent.objects.count() == 1


def _backend_alive(pid: int) -> bool:
    params = connection.settings_dict
    with psycopg.connect(
        host=params["HOST"], port=params["PORT"], user=params["USER"], dbname="postgres"
    ) as admin:
        return bool(
            admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
        )


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_dead_pooled_connection_is_replaced_without_an_error(client, linked_tenant):
    assert _deliver(client, KEY_OLD).status_code == 200
    pid = postgres_connection_drop()
    wait_until(lambda: not _backend_alive(pid), timeout=10, what="the backend to end")
    # As at the start of every request in production (the test client skips that signal).
    connection.health_check_done = False
    response = _deliver(client, KEY_OLD)
    assert response.status_code == 200, response.content
    assert ConnectEvent.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_committed_events_reach_celery_unless_a_queued_task_will_take_them(
    client, linked_tenant, settings
):
    """Outside eager mode a stored event publishes its processing task once its row is
    committed, unless a task already queued will take it (the flag in the broker's Redis; without
    Redis every event publishes its own); a task starting clears the flag; a duplicate publishes
    nothing."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    coalesced = broker_redis() is not None
    payload = message()
    received = []
    try:
        with celery_app.connection_for_read() as broker:
            queue = broker.SimpleQueue("events")
            queue.clear()
            connect_event_processing_started()  # no task is queued
            for _ in range(2):
                assert _deliver(client, KEY_OLD).status_code == 200
            body = encode(payload)
            for _ in range(2):  # the second is a redelivery
                assert post(client, body, **signed_headers(body, KEY_OLD)).status_code == 200
            if coalesced:
                # A worker takes the queued task: the next event needs a task of its own.
                received.append(queue.get(timeout=5))
                connect_event_processing_started()
                assert _deliver(client, KEY_OLD).status_code == 200
            while len(received) < (2 if coalesced else 3):
                received.append(queue.get(timeout=5))
            # Published before each answer, so another would already be there.
            with pytest.raises(queue.Empty):
                queue.get_nowait()
            for item in received:
                item.ack()
            queue.close()
    finally:
        celery_app.conf.task_always_eager = True
        connect_event_processing_started()
    assert {item.headers["task"] for item in received} == {"events.tasks.connect_event_process"}
    stored = sorted(ConnectEvent.objects.values_list("pk", flat=True))
    published = [item.payload[0][0] for item in received]
    # With the flag: the first event's task (it takes the two after it), then the fourth's.
    assert published == ([stored[0], stored[3]] if coalesced else stored)
    # Not processed yet (no worker here): the sweep would find them if a task were lost.
    assert ConnectEvent.objects.filter(processed_at__isnull=True).count() == len(stored)


@pytest.mark.django_db(transaction=True)
def test_broker_down_at_commit_still_answers_200_and_the_sweep_processes_the_event(
    client, linked_tenant, monkeypatch
):
    def broker_down(*args, **kwargs):
        raise KombuOperationalError("Error 111 connecting to the broker. Connection refused.")

    with monkeypatch.context() as patched:
        patched.setattr(connect_event_process, "apply_async", broker_down)
        response = _deliver(client, KEY_OLD)
    assert response.status_code == 200, response.content
    # No task is queued, so the next event must not count on one.
    assert broker_redis() is None or not broker_redis().exists(QUEUED_KEY)
    event = ConnectEvent.objects.get()
    assert event.processed_at is None
    ConnectEvent.objects.update(received_at=event.received_at - timedelta(minutes=5))
    assert connect_events_sweep() == 1
    event.refresh_from_db()
    assert event.processed_at is not None


def test_a_signed_delivery_reads_its_route_in_one_query(
    client, linked_tenant, django_assert_max_num_queries
):
    hmac_key_add(integration=linked_tenant.integration, label="new", secret=KEY_NEW, actor=None)
    # The route (tenant and active keys), then the INSERT inside the test's savepoint.
    with django_assert_max_num_queries(4):
        assert _deliver(client, KEY_NEW).status_code == 200
