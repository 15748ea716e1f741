"""Staff pages of the events area: listener credentials, the event browser, the tenant panel with
"send test event", delivery health and the dashboard count."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from common.models import AuditEvent
from connect.models import TenantConnectState
from docusign_emulator.testing import TEST_ACCOUNT_1_ID, TEST_PARTNER_ACCOUNT_ID
from events.models import ConnectEvent, PartnerHmacKey, TenantEventHealth
from events.selectors import events_tenant_panel, tenants_silent_count
from events.tasks import connect_events_sweep
from events.tests.helpers import HOOK_PATH, KEY_NEW, KEY_OLD
from tenants.models import Integration
from tenants.tests.factories import IntegrationFactory, TenantAccountFactory, TenantFactory


def _event(tenant, **fields):
    defaults = {
        "account_id": tenant.account.account_id if hasattr(tenant, "account") else "acc",
        "configuration_id": "1",
        "event": "envelope-completed",
        "envelope_id": str(uuid.uuid4()),
        "generated_date_time": "2026-01-13T07:09:58.9584687Z",
        "payload": {"event": "envelope-completed"},
        "auth_method": ConnectEvent.AuthMethod.HMAC,
    }
    defaults.update(fields)
    return ConnectEvent.objects.create(tenant=tenant, **defaults)


# --- listener credentials page ----------------------------------------------------------------


@pytest.mark.django_db
def test_admin_adds_an_hmac_key_which_is_stored_encrypted_and_never_shown(staff_client):
    client = staff_client(Role.ADMIN)
    integration = IntegrationFactory()
    url = reverse("integration-hmac-keys", kwargs={"integration_id": integration.pk})

    response = client.post(url, {"action": "add_key", "label": "2026 key", "secret": KEY_OLD})

    assert response.status_code == 302
    key = PartnerHmacKey.objects.get()
    assert key.secret == KEY_OLD
    assert key.is_active
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM events_partnerhmackey WHERE id = %s", [key.pk])
        assert KEY_OLD not in cursor.fetchone()[0]
    page = client.get(url).content.decode()
    assert "2026 key" in page
    assert KEY_OLD not in page
    audit = AuditEvent.objects.get(action="events.hmac_key.add")
    assert KEY_OLD not in str(audit.message) + str(audit.before) + str(audit.after)


@pytest.mark.django_db
def test_short_or_duplicate_hmac_key_shows_a_field_error_and_stores_nothing(staff_client):
    client = staff_client(Role.ADMIN)
    integration = IntegrationFactory()
    url = reverse("integration-hmac-keys", kwargs={"integration_id": integration.pk})
    response = client.post(url, {"action": "add_key", "label": "k", "secret": "short"})
    assert response.status_code == 400
    assert "at least 16 characters" in response.content.decode()
    assert PartnerHmacKey.objects.count() == 0
    client.post(url, {"action": "add_key", "label": "a", "secret": KEY_OLD})
    response = client.post(url, {"action": "add_key", "label": "b", "secret": KEY_OLD})
    assert "already stored" in response.content.decode()
    assert KEY_OLD not in response.content.decode()
    assert PartnerHmacKey.objects.count() == 1


@pytest.mark.django_db
def test_admin_deactivates_a_key(staff_client):
    client = staff_client(Role.ADMIN)
    integration = IntegrationFactory()
    key = PartnerHmacKey.objects.create(
        integration=integration, label="old", secret=KEY_OLD, created_by_label="t"
    )
    url = reverse("integration-hmac-keys", kwargs={"integration_id": integration.pk})
    client.post(url, {"action": "deactivate_key", "key_id": key.pk})
    key.refresh_from_db()
    assert not key.is_active
    assert key.deactivated_by_label == client.user.username


@pytest.mark.django_db
def test_listener_settings_keep_write_only_secrets(staff_client):
    client = staff_client(Role.ADMIN)
    integration = IntegrationFactory()
    url = reverse("integration-hmac-keys", kwargs={"integration_id": integration.pk})
    form = {
        "action": "settings",
        "require_hmac": "on",
        "basic_username": "docusign",
        "basic_password": "basic-password-123",
        "oauth_enabled": "on",
        "oauth_client_id": "ds-connect",
        "oauth_client_secret": "s" * 30,
        "oauth_token_ttl_s": "600",
    }
    assert client.post(url, form).status_code == 302
    # Saving again with blank secrets keeps the stored ones.
    blank_secrets = {**form, "basic_password": "", "oauth_client_secret": ""}
    assert client.post(url, blank_secrets).status_code == 302
    listener = integration.connect_listener
    listener.refresh_from_db()
    assert listener.basic_password == "basic-password-123"
    assert listener.oauth_client_secret == "s" * 30
    assert listener.has_oauth
    page = client.get(url).content.decode()
    assert "basic-password-123" not in page
    assert "s" * 30 not in page
    assert listener.oauth_signing_secret not in page


@pytest.mark.django_db
def test_operator_may_not_manage_hmac_keys(staff_client):
    client = staff_client(Role.OPERATOR)
    integration = IntegrationFactory()
    url = reverse("integration-hmac-keys", kwargs={"integration_id": integration.pk})
    response = client.post(url, {"action": "add_key", "label": "x", "secret": KEY_OLD})
    assert response.status_code == 403
    assert PartnerHmacKey.objects.count() == 0
    assert AuditEvent.objects.filter(action="access.denied").exists()


# --- event browser ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_event_list_filters_by_tenant_event_and_envelope(staff_client):
    client = staff_client(Role.SUPPORT)
    one = TenantAccountFactory(account_id="acc-1").tenant
    two = TenantAccountFactory(account_id="acc-2").tenant
    wanted = _event(one, event="envelope-sent")
    _event(one, event="envelope-completed")
    _event(two, event="envelope-sent")
    url = reverse("event-list")

    page = client.get(url, {"tenant": one.pk, "event": "envelope-sent"}).context["page"]
    assert [e.pk for e in page] == [wanted.pk]
    page = client.get(url, {"envelope": wanted.envelope_id}).context["page"]
    assert [e.pk for e in page] == [wanted.pk]
    assert len(client.get(url).context["page"]) == 3


@pytest.mark.django_db
def test_event_list_is_paginated(staff_client):
    client = staff_client(Role.SUPPORT)
    tenant = TenantAccountFactory(account_id="acc-1").tenant
    for _ in range(55):
        _event(tenant)
    response = client.get(reverse("event-list"))
    assert len(response.context["page"]) == 50
    assert len(client.get(reverse("event-list"), {"page": 2}).context["page"]) == 5


@pytest.mark.django_db
def test_event_detail_escapes_the_payload_and_hides_documents_and_secrets(staff_client):
    client = staff_client(Role.SUPPORT)
    tenant = TenantAccountFactory(account_id="acc-1").tenant
    pdf = "JVBERi0xLjQK" * 50
    event = _event(
        tenant,
        payload={
            "event": "envelope-completed",
            "data": {
                "envelopeSummary": {
                    "emailSubject": "<script>alert(1)</script>",
                    "envelopeDocuments": [{"name": "a.pdf", "PDFBytes": pdf}],
                    "documentBase64": pdf,
                },
                "password": "hunter2-hunter2",
            },
        },
    )
    page = client.get(reverse("event-detail", kwargs={"event_id": event.pk})).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert pdf not in page
    assert "hunter2-hunter2" not in page
    assert "a.pdf" in page


@pytest.mark.django_db
def test_unknown_event_is_404(staff_client):
    response = staff_client(Role.SUPPORT).get(reverse("event-detail", kwargs={"event_id": 999}))
    assert response.status_code == 404


# --- send test event, panel, health ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_send_test_event_shows_when_it_arrived(
    staff_client, emulator, live_server, emulator_integration
):
    tenant = TenantAccountFactory(
        tenant__integration=emulator_integration, account_id=TEST_ACCOUNT_1_ID
    ).tenant
    PartnerHmacKey.objects.create(
        integration=emulator_integration, label="k", secret=KEY_NEW, created_by_label="t"
    )
    emulator.set_partner_hmac_keys(TEST_PARTNER_ACCOUNT_ID, [KEY_NEW])
    emulator.drift_create(
        TEST_ACCOUNT_1_ID,
        {
            "name": "PartnerPortal: test",
            "configurationType": "custom",
            "urlToPublishTo": live_server.url + HOOK_PATH,
            "allowEnvelopePublish": "true",
            "deliveryMode": "SIM",
            "eventData": {"version": "restv2.1"},
            "events": ["envelope-completed"],
            "integratorManaged": "true",
            "includeHMAC": "true",
        },
    )
    client = staff_client(Role.OPERATOR)

    response = client.post(
        reverse("tenant-send-test-event", kwargs={"tenant_id": tenant.pk}),
        {"event": "envelope-completed"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    health = TenantEventHealth.objects.get(tenant=tenant)
    event = ConnectEvent.objects.get(envelope_id=health.test_envelope_id)
    assert event.is_test
    assert health.test_arrived_at == event.received_at
    assert health.test_arrival_ms is not None
    html = response.content.decode()
    assert f"arrived after {health.test_arrival_ms} ms" in html
    assert 'hx-trigger="every 1s"' not in html  # arrived: no more polling


@pytest.mark.django_db
def test_send_test_event_without_a_matching_configuration_says_what_to_do(
    staff_client, emulator, emulator_integration
):
    tenant = TenantAccountFactory(
        tenant__integration=emulator_integration, account_id=TEST_ACCOUNT_1_ID
    ).tenant
    client = staff_client(Role.OPERATOR)
    response = client.post(
        reverse("tenant-send-test-event", kwargs={"tenant_id": tenant.pk}), HTTP_HX_REQUEST="true"
    )
    assert "No Connect configuration of this account publishes" in response.content.decode()
    assert ConnectEvent.objects.count() == 0


@pytest.mark.django_db
def test_send_test_event_on_real_docusign_explains_a_test_envelope_is_needed(staff_client):
    integration = IntegrationFactory(
        environment=Integration.Environment.DEMO, auth_base_url="https://account-d.docusign.com"
    )
    tenant = TenantAccountFactory(tenant__integration=integration, account_id="acc-1").tenant
    panel = events_tenant_panel(tenant=tenant)
    assert not panel["can_send_test"]
    assert "test envelope" in panel["send_test_explanation"]
    client = staff_client(Role.OPERATOR)
    response = client.post(
        reverse("tenant-send-test-event", kwargs={"tenant_id": tenant.pk}), follow=False
    )
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("test envelope" in m for m in messages)


@pytest.mark.django_db
def test_support_may_not_send_test_events(staff_client):
    tenant = TenantAccountFactory(account_id="acc-1").tenant
    response = staff_client(Role.SUPPORT).post(
        reverse("tenant-send-test-event", kwargs={"tenant_id": tenant.pk})
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_panel_counts_the_last_14_days(staff_client):
    tenant = TenantAccountFactory(account_id="acc-1").tenant
    from events.services.health import connect_event_process

    for days_ago in (0, 0, 3, 20):
        event = _event(tenant, received_at=timezone.now() - timedelta(days=days_ago))
        connect_event_process(event_id=event.pk)
    panel = events_tenant_panel(tenant=tenant)
    assert panel["events_14_days"] == 3
    assert panel["events_total"] == 4
    chart = str(panel["chart"])
    today = timezone.now().strftime("%d %b")
    assert f"{today}: 2 events stored" in chart
    assert chart.count("<rect ") == 2  # today and three days ago; the 20-day-old one is out
    assert "events</text>" in chart  # the y axis's title is the unit
    assert "day (UTC)" in chart
    html = (
        staff_client(Role.SUPPORT)
        .get(reverse("tenant-event-panel", kwargs={"tenant_id": tenant.pk}))
        .content.decode()
    )
    assert "3 events" in html


@pytest.mark.django_db
def test_panel_beside_an_arrived_test_event_explains_figures_not_counted_yet(staff_client):
    from events.services.health import connect_event_process

    tenant = TenantAccountFactory(account_id="acc-1").tenant
    envelope_id = str(uuid.uuid4())
    TenantEventHealth.objects.create(
        tenant=tenant, test_envelope_id=envelope_id, test_requested_at=timezone.now()
    )
    # Stored by the receiver; its task, which counts it, has not run yet (as in the demo).
    event = _event(tenant, envelope_id=envelope_id)
    client = staff_client(Role.SUPPORT)
    url = reverse("tenant-event-panel", kwargs={"tenant_id": tenant.pk})

    html = client.get(url).content.decode()

    assert "arrived after" in html
    assert "0 events (0 in all)" in html
    assert "data-test-uncounted" in html
    assert "not in these figures yet" in html
    assert "No events counted yet in the last 14 days" in html
    assert 'hx-trigger="every 1s"' in html  # until its task has counted it

    connect_event_process(event_id=event.pk)
    html = client.get(url).content.decode()

    assert "1 event (1 in all, test events included)" in html
    assert "data-test-uncounted" not in html
    assert 'hx-trigger="every 1s"' not in html


@pytest.mark.django_db
def test_panel_chart_without_events_says_so_instead_of_a_blank_block():
    tenant = TenantAccountFactory(account_id="acc-quiet").tenant
    chart = str(events_tenant_panel(tenant=tenant)["chart"])
    assert "No events in the last 14 days" in chart
    assert "<rect " not in chart


@pytest.mark.django_db
def test_processing_twice_counts_once():
    from events.services.health import connect_event_process

    tenant = TenantAccountFactory(account_id="acc-1").tenant
    event = _event(tenant)
    assert connect_event_process(event_id=event.pk) is True
    assert connect_event_process(event_id=event.pk) is False
    assert TenantEventHealth.objects.get(tenant=tenant).events_total == 1


@pytest.mark.django_db
def test_sweep_counts_events_whose_task_was_lost(monkeypatch):
    from events.tasks import connect_event_process

    tenant = TenantAccountFactory(account_id="acc-1").tenant
    lost = _event(tenant, received_at=timezone.now() - timedelta(minutes=10))
    _event(tenant)  # its task is on its way: not the sweep's
    enqueued = []
    monkeypatch.setattr(connect_event_process, "delay", enqueued.append)
    assert connect_events_sweep() == 1
    assert enqueued == [lost.pk]
    connect_event_process(lost.pk)
    lost.refresh_from_db()
    assert lost.processed_at is not None


@pytest.mark.django_db
def test_silent_tenants_have_a_configuration_but_no_recent_event():
    silent = TenantAccountFactory(account_id="acc-1").tenant
    busy = TenantAccountFactory(account_id="acc-2").tenant
    unconfigured = TenantAccountFactory(account_id="acc-3").tenant
    TenantConnectState.objects.create(tenant=silent, connect_ids={"events": "11"})
    TenantConnectState.objects.create(tenant=busy, connect_ids={"events": "12"})
    TenantConnectState.objects.create(tenant=unconfigured, connect_ids={})
    _event(busy)
    _event(silent, received_at=timezone.now() - timedelta(days=8))
    assert tenants_silent_count(days=7) == 1
    assert tenants_silent_count(days=30) == 0
    TenantFactory()  # no account at all: not counted
    assert tenants_silent_count(days=7) == 1


@pytest.mark.django_db
def test_tenant_page_shows_the_events_panel(staff_client):
    tenant = TenantAccountFactory(account_id="acc-1").tenant
    _event(tenant)
    page = staff_client(Role.SUPPORT).get(reverse("tenant-detail", kwargs={"tenant_id": tenant.pk}))
    assert page.status_code == 200
    assert "Connect events" in page.content.decode()
