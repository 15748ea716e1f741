"""Staff pages: templates (field errors, versions, preview), assignment, partner OAuth, sync now."""

import json

import pytest
from django.urls import reverse

from accounts.roles import Role
from common.models import AuditEvent
from connect.models import (
    ConnectAssignment,
    ConnectTemplate,
    PartnerConnectOAuth,
    SyncRecord,
)
from connect.tests.factories import ConnectTemplateFactory
from docusign_emulator.testing import TEST_PARTNER_ACCOUNT_ID, TEST_PARTNER_ADMIN_USER_ID
from tenants.models import Integration
from tenants.tests.factories import IntegrationFactory, TenantFactory

pytestmark = pytest.mark.django_db


def template_post(**overrides) -> dict:
    data = {
        "name": "Main webhook",
        "slug": "main",
        "policy": "repair",
        "applies_to": "all",
        "is_active": "on",
        "url_to_publish_to": "https://hooks.partner.example/ds/{tenant_slug}",
        "delivery_mode": "SIM",
        "events": "envelope-sent, envelope-completed",
        "include_data": ["recipients"],
        "requires_acknowledgement": "on",
        "enable_log": "on",
        "all_users": "on",
        "allow_envelope_publish": "on",
        "include_hmac": "on",
    }
    data.update(overrides)
    return data


@pytest.fixture
def integration():
    return IntegrationFactory(
        environment=Integration.Environment.DEMO, auth_base_url="https://account-d.docusign.com"
    )


def test_admin_creates_a_template_as_version_one(staff_client, integration):
    client = staff_client(Role.ADMIN)

    response = client.post(
        reverse("connect-template-create"), template_post(integration=integration.pk)
    )

    template = ConnectTemplate.objects.get(slug="main")
    assert response.status_code == 302
    assert template.current_version == 1
    assert template.versions.get().settings["events"] == ["envelope-sent", "envelope-completed"]
    assert AuditEvent.objects.filter(action="connect.template.create").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("events", "envelope-sent, envelope-teleported", "Unknown event: envelope-teleported"),
        ("events", "", "SIM delivery needs at least one event"),
        ("url_to_publish_to", "http://hooks.partner.example/x", "only delivers to https"),
        ("url_to_publish_to", "https://user:pw@hooks.partner.example/", "user name or password"),
        ("url_to_publish_to", "https://10.0.0.8/hook", "private, loopback or local"),
        ("url_to_publish_to", "https://127.0.0.1/hook", "private, loopback or local"),
        ("url_to_publish_to", "https://localhost/hook", "private, loopback or local"),
        ("url_to_publish_to", "https://h.example/{tenant_name}", "Unknown placeholder"),
        ("url_to_publish_to", "https://h.example/" + "a" * 4100, "at most 4096"),
        ("name", "n" * 101, "at most 100 characters"),
        ("slug", "s" * 51, "at most 50 characters"),
    ],
)
def test_template_form_rejects_bad_input_with_field_errors(
    staff_client, integration, field, value, message
):
    client = staff_client(Role.ADMIN)

    response = client.post(
        reverse("connect-template-create"),
        template_post(integration=integration.pk, **{field: value}),
    )

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not ConnectTemplate.objects.exists()


def test_emulator_integration_may_deliver_to_the_local_portal_over_http(
    staff_client, emulator_integration
):
    client = staff_client(Role.ADMIN)
    data = template_post(
        integration=emulator_integration.pk,
        url_to_publish_to="http://127.0.0.1:8000/hooks/docusign/connect/",
    )

    response = client.post(reverse("connect-template-create"), data)

    assert response.status_code == 302


def test_each_save_creates_a_new_version(staff_client, integration):
    template = ConnectTemplateFactory(integration=integration, slug="main")
    client = staff_client(Role.ADMIN)

    response = client.post(
        reverse("connect-template-edit", kwargs={"template_id": template.pk}),
        template_post(events="envelope-voided"),
    )

    assert response.status_code == 302
    template.refresh_from_db()
    assert template.current_version == 2
    assert template.slug == "main"
    assert template.versions.get(number=2).settings["events"] == ["envelope-voided"]
    assert template.versions.get(number=1).settings["events"] != ["envelope-voided"]


def test_support_sees_templates_but_cannot_change_them(staff_client, integration):
    template = ConnectTemplateFactory(integration=integration)
    client = staff_client(Role.SUPPORT)

    assert client.get(reverse("connect-template-list")).status_code == 200
    assert client.get(reverse("connect-template-edit", args=[template.pk])).status_code == 200
    assert client.get(reverse("connect-template-create")).status_code == 403
    edit = client.post(reverse("connect-template-edit", args=[template.pk]), template_post())
    assign = client.post(reverse("connect-template-assign", args=[template.pk]), {})
    oauth = client.post(reverse("connect-partner-oauth"), {"integration": integration.pk})

    assert (edit.status_code, assign.status_code, oauth.status_code) == (403, 403, 403)
    template.refresh_from_db()
    assert template.current_version == 1
    assert AuditEvent.objects.filter(outcome="denied").count() == 4  # the create page too


def test_operator_cannot_edit_templates(staff_client, integration):
    template = ConnectTemplateFactory(integration=integration)
    client = staff_client(Role.OPERATOR)

    response = client.post(reverse("connect-template-edit", args=[template.pk]), template_post())

    assert response.status_code == 403


def test_preview_shows_the_exact_json_for_a_chosen_tenant_with_overrides(staff_client, integration):
    template = ConnectTemplateFactory(integration=integration, slug="main")
    tenant = TenantFactory(integration=integration, slug="acme")
    ConnectAssignment.objects.create(
        template=template, tenant=tenant, overrides={"events": ["envelope-voided"]}
    )
    client = staff_client(Role.SUPPORT)

    response = client.get(
        reverse("connect-template-preview", args=[template.pk]), {"tenant": tenant.pk}
    )

    body = json.loads(response.context["preview"]["json"])
    assert body["name"] == "PartnerPortal: main"
    assert body["integratorManaged"] == "true"
    assert body["urlToPublishTo"] == "https://hooks.partner.example/ds/acme"
    assert body["events"] == ["envelope-voided"]
    assert "connectId" not in body
    assert "PartnerPortal: main" in response.content.decode()


def test_assignment_chooses_tenants_and_sets_overrides_with_field_errors(staff_client, integration):
    template = ConnectTemplateFactory(integration=integration, applies_to="chosen")
    chosen, other = TenantFactory(integration=integration), TenantFactory(integration=integration)
    client = staff_client(Role.ADMIN)
    url = reverse("connect-template-assign", args=[template.pk])

    client.post(url, {"action": "assign", "tenants": [chosen.pk]})
    bad = client.post(
        url,
        {"action": "override", "tenant": other.pk, "url_to_publish_to": "http://insecure.example/"},
    )
    good = client.post(
        url,
        {
            "action": "override",
            "tenant": chosen.pk,
            "url_to_publish_to": "https://special.example/{account_id}",
            "events": "envelope-completed",
        },
    )

    assert list(template.assignments.values_list("tenant_id", flat=True)) == [chosen.pk]
    assert bad.status_code == 400
    assert "https" in " ".join(bad.context["override_form"].errors["url_to_publish_to"])
    assert good.status_code == 302
    assert ConnectAssignment.objects.get(template=template, tenant=chosen).overrides == {
        "url_to_publish_to": "https://special.example/{account_id}",
        "events": ["envelope-completed"],
    }
    page = client.get(url)
    assert "https://special.example/{account_id}" in page.content.decode()


def test_sync_now_needs_operate_and_records_a_sync(
    staff_client, consented_tenant, emulator_integration, django_capture_on_commit_callbacks
):
    ConnectTemplateFactory(integration=emulator_integration)
    tenant = consented_tenant()
    url = reverse("tenant-connect-sync", kwargs={"tenant_id": tenant.pk})

    assert staff_client(Role.SUPPORT).post(url).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client(Role.OPERATOR).post(url)

    assert response.status_code == 302
    record = SyncRecord.objects.get(tenant=tenant)
    assert (record.trigger, record.outcome) == ("manual", "changed")


def test_tenant_panel_renders_state_diff_history_and_button(
    staff_client, consented_tenant, emulator_integration, emulator
):
    from django.template.loader import render_to_string

    from connect.selectors.panel import connect_tenant_panel
    from connect.services.reconcile import connect_tenant_reconcile

    ConnectTemplateFactory(integration=emulator_integration, slug="hooks")
    tenant = consented_tenant()
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger="schedule")
    config = emulator.connect_configs(tenant.account.account_id)[0]
    emulator.drift_edit(tenant.account.account_id, config["connectId"], enableLog="false")
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger="schedule")
    client = staff_client(Role.OPERATOR)
    request = client.get(reverse("connect-template-list")).wsgi_request

    panel = connect_tenant_panel(tenant=tenant)
    html = render_to_string(
        "connect/_tenant_panel.html", {"panel": panel, "tenant": tenant}, request=request
    )

    assert "Repaired" in html
    assert "enable_log" in html
    assert "PartnerPortal: hooks" in html
    assert "Sync Connect now" in html
    assert len(panel["records"]) == 2


def test_partner_oauth_is_created_read_and_deleted_on_the_partner_account(
    staff_client, emulator, emulator_integration
):
    emulator.grant_consent(TEST_PARTNER_ADMIN_USER_ID, emulator_integration.integration_key)
    client = staff_client(Role.ADMIN)
    url = reverse("connect-partner-oauth")
    data = {
        "integration": emulator_integration.pk,
        "action": "save",
        "authorization_server_url": "https://idp.partner.example/oauth2/token",
        "client_id": "connect-client",
        "client_secret": "s3cr3t-value",
        "scope": "api://x/.default",
        "custom_parameters": "audience=listener",
    }

    client.post(url, data)

    row = PartnerConnectOAuth.objects.get(integration=emulator_integration)
    assert row.state == "active", row.last_result
    assert row.partner_base_uri.endswith("/demo")
    state = emulator.state()
    assert "connect-client" in json.dumps(state)
    page = client.get(url, {"integration": emulator_integration.pk}).content.decode()
    assert "s3cr3t-value" not in page
    assert "Created on DocuSign" in page

    client.post(url, {**data, "client_secret": "", "scope": "other"})  # keeps the secret
    row.refresh_from_db()
    assert (row.client_secret, row.last_result) == ("s3cr3t-value", "Updated on DocuSign.")
    check = client.post(url, {"integration": emulator_integration.pk, "action": "check"})
    assert check.context["remote"]["scope"] == "other"
    client.post(url, {"integration": emulator_integration.pk, "action": "delete"})
    row.refresh_from_db()
    assert row.state == "absent"
    assert not any(
        "s3cr3t-value" in json.dumps([e.before, e.after, e.message])
        for e in AuditEvent.objects.all()
    )
    assert emulator_integration.partner_account_id == TEST_PARTNER_ACCOUNT_ID


def test_partner_oauth_form_requires_a_secret_the_first_time(staff_client, emulator_integration):
    client = staff_client(Role.ADMIN)

    response = client.post(
        reverse("connect-partner-oauth"),
        {
            "integration": emulator_integration.pk,
            "action": "save",
            "authorization_server_url": "https://idp.partner.example/token",
            "client_id": "c",
        },
    )

    assert response.status_code == 400
    assert "client secret" in " ".join(response.context["form"].errors["client_secret"])
