"""Basic credentials and mutual TLS in Connect templates: pushed to DocuSign (the emulator), the
password write-only, a rotation re-pushed although DocuSign never returns the password."""

import pytest
from django.urls import reverse

from common.models import AuditEvent
from connect.models import ConnectTemplate, SyncRecord
from connect.services.reconcile import connect_tenant_reconcile
from connect.services.templates import (
    config_name,
    connect_template_create,
    connect_template_update,
)
from connect.tests.factories import sim_settings
from connect.tests.test_views import template_post
from docusign_emulator.testing import TEST_ACCOUNT_1_ID
from docusign_emulator.tls import ensure_certificates

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("emulator_put_mode")]
SCHEDULE = SyncRecord.Trigger.SCHEDULE
FIRST, SECOND = "first-basic-secret", "second-basic-secret"


@pytest.fixture
def tenant(consented_tenant):
    return consented_tenant(slug="acme")


@pytest.fixture
def template(emulator_integration):
    return connect_template_create(
        actor=None,
        name="Hooks",
        slug="hooks",
        integration=emulator_integration,
        policy=ConnectTemplate.Policy.REPAIR,
        applies_to=ConnectTemplate.AppliesTo.ALL,
        settings=sim_settings(
            url_to_publish_to="http://127.0.0.1:9/ds/{tenant_slug}", basic_auth_user="docusign"
        ),
        basic_auth_password=FIRST,
    )


def ours(emulator):
    configs = emulator.connect_configs(TEST_ACCOUNT_1_ID)
    return [c for c in configs if c["name"] == config_name("hooks")]


def save(template, **settings_overrides):
    settings = sim_settings(
        url_to_publish_to="http://127.0.0.1:9/ds/{tenant_slug}", basic_auth_user="docusign"
    )
    settings.update(settings_overrides)
    password = settings.pop("password", "")
    return connect_template_update(
        template=template,
        actor=None,
        name=template.name,
        policy=template.policy,
        applies_to=template.applies_to,
        is_active=True,
        settings=settings,
        basic_auth_password=password,
    )


def test_basic_credentials_are_pushed_and_the_password_stays_write_only(emulator, tenant, template):
    result = connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    assert result.outcome == "changed"
    [config] = ours(emulator)
    assert config["userName"] == "docusign"
    assert config["password"] == FIRST
    assert FIRST not in str(list(AuditEvent.objects.values_list("after", "message")))
    assert FIRST not in str(list(SyncRecord.objects.values_list("changes", flat=True)))
    # Nothing differs that DocuSign shows, and the version is carried: no write.
    assert connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE).outcome == "in_sync"


def test_a_rotated_password_is_pushed_though_docusign_never_returns_it(emulator, tenant, template):
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    save(template, password=SECOND)
    result = connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    assert result.outcome == "changed"
    [config] = ours(emulator)
    assert config["password"] == SECOND
    assert connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE).outcome == "in_sync"


def test_saving_without_a_new_password_keeps_the_stored_one_on_every_push(
    emulator, tenant, template
):
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    save(template, enable_log=False)  # another change: a full PUT, with the kept password
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    [config] = ours(emulator)
    assert config["enableLog"] == "false"
    assert config["password"] == FIRST
    template.refresh_from_db()
    assert template.basic_auth_password == FIRST


def test_a_user_name_without_any_password_is_refused_by_the_service(emulator_integration):
    with pytest.raises(ValueError, match="Basic password"):
        connect_template_create(
            actor=None,
            name="No password",
            slug="no-password",
            integration=emulator_integration,
            policy=ConnectTemplate.Policy.REPAIR,
            applies_to=ConnectTemplate.AppliesTo.ALL,
            settings=sim_settings(basic_auth_user="docusign"),
        )
    assert not ConnectTemplate.objects.filter(slug="no-password").exists()


def test_mutual_tls_is_pushed_as_require_mutual_tls(emulator, tenant, template):
    save(template, require_mutual_tls=True)
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)
    [config] = ours(emulator)
    assert config["requireMutualTls"] == "true"


def test_form_asks_for_the_password_and_for_a_client_ca_before_mutual_tls(
    staff_client, emulator_integration, settings, tmp_path
):
    settings.CONNECT_MTLS_CLIENT_CA = ""
    client = staff_client()
    data = template_post(
        integration=emulator_integration.pk, basic_auth_user="docusign", require_mutual_tls="on"
    )
    response = client.post(reverse("connect-template-create"), data)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "Enter the password" in errors["basic_auth_password"][0]
    assert "CONNECT_MTLS_CLIENT_CA" in errors["require_mutual_tls"][0]
    assert not ConnectTemplate.objects.exists()

    settings.CONNECT_MTLS_CLIENT_CA, _, _ = ensure_certificates(str(tmp_path))
    data["basic_auth_password"] = FIRST
    created = client.post(reverse("connect-template-create"), data)
    assert created.status_code == 302
    template = ConnectTemplate.objects.get()
    assert template.basic_auth_password == FIRST
    page = client.get(reverse("connect-template-edit", args=[template.pk])).content.decode()
    assert FIRST not in page
    preview = client.get(reverse("connect-template-preview", args=[template.pk])).content.decode()
    assert FIRST not in preview
    assert "write-only" in preview
