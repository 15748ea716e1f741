"""Alert notices: one per tenant and reason until resolved, a resolved notice after, to the owner
or the staff list by email and to Slack / a signed webhook (a local HTTP sink here); mutes and
the daily digest."""

import base64
import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from alerts.models import AlertMute, TenantAlert
from alerts.services.alerts import alert_notify, alerts_digest_send, alerts_evaluate
from alerts.tasks import alerts_evaluate_task
from tenants.models import Tenant
from tenants.tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sink():
    """A local HTTP server that records every POST (path, headers, body) and answers 200."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}", "received": received}
    server.shutdown()
    server.server_close()


@pytest.fixture
def alert_settings(settings, sink):
    settings.STAFF_ALERT_EMAILS = ["ops@partner.example"]
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.ALERT_SLACK_WEBHOOK_URL = f"{sink['url']}/slack"
    settings.ALERT_WEBHOOK_URL = f"{sink['url']}/hook"
    settings.ALERT_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"alert-signing-secret").decode()
    return settings


def _needs_reconsent(**fields) -> Tenant:
    return TenantFactory(
        status=Tenant.Status.NEEDS_RECONSENT, status_reason="grant revoked", **fields
    )


def _run_beat():
    """What beat does every minute (tasks run inline in the test suite)."""
    alerts_evaluate_task()


def test_one_notice_while_open_then_one_resolved_notice(alert_settings, sink):
    tenant = _needs_reconsent()

    _run_beat()
    _run_beat()
    _run_beat()

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@partner.example"]
    assert mail.outbox[0].subject == f"[Needs a human] {tenant.name}: Needs re-consent"
    assert "grant revoked" in mail.outbox[0].body
    assert f"/tenants/{tenant.pk}/" in mail.outbox[0].body
    assert [r["path"] for r in sink["received"]] == ["/slack", "/hook"]

    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.ACTIVE)
    _run_beat()
    _run_beat()

    assert [m.subject for m in mail.outbox] == [
        f"[Needs a human] {tenant.name}: Needs re-consent",
        f"[Resolved] {tenant.name}: Needs re-consent",
    ]
    assert [r["path"] for r in sink["received"]] == ["/slack", "/hook", "/slack", "/hook"]
    resolved = json.loads(sink["received"][3]["body"])
    assert resolved["type"] == "alert.resolved"
    assert resolved["data"]["tenant"]["id"] == tenant.pk

    # Entering the state again is news again: a new alert, a new notice.
    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.NEEDS_RECONSENT)
    _run_beat()
    assert len(mail.outbox) == 3
    assert TenantAlert.objects.filter(tenant=tenant).count() == 2


def test_slack_gets_text_and_the_webhook_a_standard_webhooks_signature(alert_settings, sink):
    tenant = _needs_reconsent()
    _run_beat()

    slack, hook = sink["received"]
    assert tenant.name in json.loads(slack["body"])["text"]
    headers = {k.lower(): v for k, v in hook["headers"].items()}
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + hook["body"]
    expected = base64.b64encode(
        hmac.new(b"alert-signing-secret", signed, hashlib.sha256).digest()
    ).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    payload = json.loads(hook["body"])
    assert payload["type"] == "alert.opened"
    assert payload["data"]["reason"] == "needs_reconsent"


def test_the_owner_is_told_instead_of_the_staff_list(alert_settings, make_staff):
    owner = make_staff(Role.OPERATOR, email="olivia@partner.example")
    _needs_reconsent(owner=owner)
    _run_beat()
    assert [m.to for m in mail.outbox] == [["olivia@partner.example"]]


def test_a_failing_channel_is_recorded_and_the_others_still_go_out(alert_settings, sink):
    alert_settings.ALERT_SLACK_WEBHOOK_URL = "http://10.255.255.1/slack"  # private: refused
    tenant = _needs_reconsent()
    _run_beat()
    assert len(mail.outbox) == 1
    assert [r["path"] for r in sink["received"]] == ["/hook"]
    alert = TenantAlert.objects.get(tenant=tenant)
    assert alert.last_error.startswith("slack: refused")


def test_a_muted_reason_sends_nothing_until_the_mute_ends(alert_settings, staff_client):
    tenant = _needs_reconsent()
    client = staff_client(Role.OPERATOR)
    client.post(
        reverse("tenant-alert-mute", kwargs={"tenant_id": tenant.pk}),
        {"reason": "needs_reconsent", "days": "7"},
    )
    _run_beat()
    assert mail.outbox == []
    page = client.get(reverse("tenant-detail", kwargs={"tenant_id": tenant.pk})).content.decode()
    assert "muted until" in page

    AlertMute.objects.update(muted_until=timezone.now() - timedelta(minutes=1))
    _run_beat()
    assert len(mail.outbox) == 1


def test_resolved_before_anyone_was_told_sends_nothing(alert_settings):
    tenant = _needs_reconsent()
    AlertMute.objects.create(
        tenant=tenant,
        reason="needs_reconsent",
        muted_until=timezone.now() + timedelta(days=1),
        created_by_label="tests",
    )
    _run_beat()
    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.ACTIVE)
    _run_beat()
    assert mail.outbox == []


def test_notify_twice_sends_once(alert_settings):
    _needs_reconsent()
    [alert_id] = alerts_evaluate().to_notify
    assert alert_notify(alert_id=alert_id) == "opened"
    assert alert_notify(alert_id=alert_id) == "already"
    assert len(mail.outbox) == 1


def test_daily_digest_lists_what_is_open_once_a_day(alert_settings):
    first, second = _needs_reconsent(), _needs_reconsent()
    TenantFactory()
    alerts_evaluate()

    assert alerts_digest_send() == 2
    assert alerts_digest_send() is None
    digest = mail.outbox[-1]
    assert digest.subject == "[Digest] 2 tenants need a human (2 reasons)"
    assert first.name in digest.body
    assert second.name in digest.body
