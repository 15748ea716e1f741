"""`/metrics`: refused without the token; after real work (a refresh and a sync run by a Celery
worker process, an event taken by the receiver) every family is there, the worker's counts added
to the web process's through prometheus-client's multiprocess folder."""

import json
import re
import signal
import socket
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from connect.models import SyncRecord, TenantConnectState
from events.models import PartnerHmacKey
from events.tests.helpers import KEY_OLD, encode, message, post, signed_headers
from portal.celery import app
from tenants.models import Tenant, TenantToken
from tenants.tests.factories import TenantAccountFactory
from testing.processes import celery_worker_start, child_env
from testing.wait import wait_until

TOKEN = "metrics-token-for-tests-0123456789"


def _scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def _total(samples: dict, name: str, **labels: str) -> float:
    return sum(
        value
        for (sample, sample_labels), value in samples.items()
        if sample == name and labels.items() <= dict(sample_labels).items()
    )


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN])
def test_metrics_without_the_right_bearer_token_are_refused(client, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get("/metrics", **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"Authorization: Bearer" in response.content
    assert b"portal_" not in response.content


@pytest.mark.django_db
@override_settings(METRICS_TOKEN="")
def test_metrics_are_off_without_a_token_setting(client):
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def _fleet(n: int, *, offset: int = 0) -> None:
    statuses = [Tenant.Status.ACTIVE, Tenant.Status.NEEDS_RECONSENT, Tenant.Status.INVITED]
    for i in range(offset, offset + n):
        account = TenantAccountFactory(
            account_id=f"acct-metrics-{i}", tenant__status=statuses[i % len(statuses)]
        )
        TenantConnectState.objects.create(
            tenant=account.tenant,
            queued_at=timezone.now() - timedelta(minutes=i),
            # Every other one's worker is gone: its lease ran out a minute ago.
            lease_expires_at=timezone.now() + timedelta(minutes=-1 if i % 2 else 10),
            rate_limit_limit=1000,
            rate_limit_remaining=900 - i,
            rate_limit_reset_at=timezone.now() + timedelta(minutes=30),
        )


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN, METRICS_TOP_ACCOUNTS=3)
def test_a_scrape_costs_the_same_queries_for_a_larger_fleet(client):
    _fleet(3)
    with CaptureQueriesContext(connection) as small:
        _scrape(client)
    _fleet(12, offset=3)

    with CaptureQueriesContext(connection) as large:
        samples = _scrape(client)

    assert len(large.captured_queries) == len(small.captured_queries)
    lowest = {
        dict(labels)["account_id"]: value
        for (name, labels), value in samples.items()
        if name == "portal_docusign_rate_limit_remaining"
    }
    assert sorted(lowest.values()) == [900 - 14, 900 - 13, 900 - 12]
    assert _total(samples, "portal_tenants", state=Tenant.Status.NEEDS_RECONSENT) == 5
    assert samples[("portal_connect_sync_oldest_queued_seconds", ())] >= 14 * 60
    assert samples[("portal_work_lease_expired", (("kind", "sync"),))] == 7


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_a_message_waiting_in_a_queue_is_counted(client):
    queue = "default"
    waiting = _total(_scrape(client), "portal_celery_queue_messages", queue=queue)
    app.send_task("common.tasks.worker_heartbeat", queue=queue)  # no worker here consumes it
    try:
        assert _total(_scrape(client), "portal_celery_queue_messages", queue=queue) == waiting + 1
    finally:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_the_grafana_dashboard_queries_only_families_the_portal_exposes(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    scraped = {f.name for f in text_string_to_metric_families(response.content.decode())}
    # A counter no process has touched yet is absent from a multiprocess scrape; it is defined.
    defined = {family.name for family in REGISTRY.collect()}
    exposed = scraped | defined
    dashboard = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
    exprs = [
        target["expr"]
        for panel in json.loads(dashboard.read_text())["panels"]
        for target in panel["targets"]
    ]

    used = {
        re.sub(r"_(total|bucket|count|sum)$", "", name)
        for expr in exprs
        for name in re.findall(r"\bportal_[a-z_]+", expr)
    }
    assert used
    assert used <= exposed


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
@pytest.mark.django_db(transaction=True)
@override_settings(METRICS_TOKEN=TOKEN)
def test_each_family_is_exposed_after_a_refresh_a_sync_and_an_event(client, consented_tenant):
    tenant = consented_tenant()
    PartnerHmacKey.objects.create(
        integration=tenant.integration, label="current", secret=KEY_OLD, created_by_label="t"
    )
    # Due: the access token ends within the refresh margin.
    TenantToken.objects.filter(tenant=tenant).update(
        access_expires_at=timezone.now() + timedelta(minutes=1)
    )
    generation = TenantToken.objects.get(tenant=tenant).generation
    before = _scrape(client)

    queue = f"test-{uuid.uuid4().hex[:8]}"  # only this test's worker takes these tasks
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    worker = celery_worker_start(
        queues=queue,
        concurrency=2,
        env=child_env(WORKER_METRICS_BIND=f"127.0.0.1:{port}"),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        app.send_task("tenants.tasks.token_refresh", args=[tenant.pk], queue=queue)
        wait_until(
            lambda: TenantToken.objects.get(tenant=tenant).generation > generation,
            timeout=60,
            what="the worker to refresh the tokens",
        )
        app.send_task("connect.tasks.connect_tenant_sync", args=[tenant.pk], queue=queue)
        wait_until(
            lambda: SyncRecord.objects.filter(tenant=tenant).exists(),
            timeout=60,
            what="the worker to reconcile the tenant",
        )
        # The worker's own endpoint (WORKER_METRICS_BIND), for workers in containers of their own.
        own = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'portal_token_refreshes_total{outcome="refreshed"}' in own
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    body = encode(message())
    assert post(client, body, **signed_headers(body, KEY_OLD)).status_code == 200
    assert post(client, body, **signed_headers(body, "not-the-key")).status_code == 401

    after = _scrape(client)

    def grew(name: str, **labels: str) -> bool:
        return _total(after, name, **labels) > _total(before, name, **labels)

    assert grew("portal_token_refreshes_total", outcome="refreshed")
    outcome = SyncRecord.objects.get(tenant=tenant).outcome
    assert grew("portal_connect_syncs_total", outcome=outcome)
    assert grew("portal_docusign_requests_total", endpoint="/oauth/token", status="200")
    connect_list = "/restapi/v2.1/accounts/{accountId}/connect"
    assert grew("portal_docusign_requests_total", method="GET", endpoint=connect_list)
    assert grew("portal_docusign_request_duration_seconds_count", endpoint=connect_list)
    assert grew("portal_connect_events_received_total", result="stored")
    assert grew("portal_connect_events_rejected_total", reason="unauthenticated")
    # The fleet's gauges, read at scrape time.
    tenant.refresh_from_db()
    assert _total(after, "portal_tenants", state=tenant.status) >= 1
    assert ("portal_tenants_needing_human", (("reason", "needs_reconsent"),)) in after
    for queue_name in ("default", "refresh", "sync", "events"):
        assert _total(after, "portal_celery_queue_messages", queue=queue_name) >= 0
        assert ("portal_celery_queue_messages", (("queue", queue_name),)) in after
    assert ("portal_connect_sync_oldest_queued_seconds", ()) in after
    assert ("portal_connect_event_oldest_unprocessed_seconds", ()) in after
    # No label carries an id or a secret: only the accounts of the rate-limit gauge are named.
    for (name, labels), _ in after.items():
        for key, value in labels:
            assert TOKEN not in value
            assert KEY_OLD not in value
            if key == "account_id":
                assert name == "portal_docusign_rate_limit_remaining"
