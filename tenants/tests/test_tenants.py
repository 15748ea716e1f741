"""Staff pages for tenants: register, edit, invite, import, export, archive, offboard."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.roles import Role
from common.models import AuditEvent
from tenants.models import Invite, Tenant, TenantToken
from tenants.services.status import tenant_status_set
from tenants.tests.factories import IntegrationFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration():
    return IntegrationFactory()


def tenant_post(integration, **overrides):
    data = {
        "name": "Northwind Traders",
        "slug": "northwind",
        "admin_email": "nora@northwind.test",
        "integration": integration.pk,
        "grant_mode": "acg",
        "notes": "",
    }
    data.update(overrides)
    return data


def test_operator_registers_a_tenant_and_it_is_audited(staff_client, integration):
    client = staff_client(Role.OPERATOR)

    response = client.post(reverse("tenant-create"), tenant_post(integration))

    tenant = Tenant.objects.get(slug="northwind")
    assert response.status_code == 302
    assert tenant.status == Tenant.Status.REGISTERED
    assert AuditEvent.objects.filter(action="tenant.create", target_id=str(tenant.pk)).exists()


def test_support_cannot_register_a_tenant(staff_client, integration):
    client = staff_client(Role.SUPPORT)

    response = client.post(reverse("tenant-create"), tenant_post(integration))

    assert response.status_code == 403
    assert not Tenant.objects.exists()
    assert AuditEvent.objects.filter(action="access.denied").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("slug", "Not A Slug!"),
        ("admin_email", "not-an-email"),
        ("name", "n" * 10_000),
        ("name", ""),
    ],
)
def test_register_with_bad_field_shows_field_error_and_stores_nothing(
    staff_client, integration, field, value
):
    response = staff_client(Role.OPERATOR).post(
        reverse("tenant-create"), tenant_post(integration, **{field: value})
    )

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Tenant.objects.exists()


def test_register_with_a_duplicate_slug_is_refused(staff_client, integration):
    TenantFactory(slug="northwind", integration=integration)

    response = staff_client(Role.OPERATOR).post(reverse("tenant-create"), tenant_post(integration))

    assert response.status_code == 400
    assert "slug" in response.context["form"].errors
    assert Tenant.objects.count() == 1


def test_jwt_needs_an_integration_with_an_rsa_key(staff_client):
    keyless = IntegrationFactory(rsa_private_key="")

    response = staff_client(Role.OPERATOR).post(
        reverse("tenant-create"), tenant_post(keyless, grant_mode="jwt")
    )

    assert response.status_code == 400
    assert "grant_mode" in response.context["form"].errors


def test_edit_changes_the_tenant_and_records_before_and_after(staff_client, integration):
    tenant = TenantFactory(integration=integration, name="Old name")

    response = staff_client(Role.OPERATOR).post(
        reverse("tenant-edit", kwargs={"tenant_id": tenant.pk}),
        tenant_post(integration, name="New name", slug=tenant.slug),
    )

    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.name == "New name"
    event = AuditEvent.objects.get(action="tenant.update")
    assert event.before["name"] == "Old name"
    assert event.after["name"] == "New name"


def test_edit_page_shows_the_consent_panel_and_the_link_only_to_roles_that_may_see_it(
    staff_client, make_staff, client, integration
):
    from tenants.tests.consent_helpers import send_invite

    tenant = TenantFactory(integration=integration)
    token = send_invite(tenant)
    url = reverse("tenant-edit", kwargs={"tenant_id": tenant.pk})

    operator_page = staff_client(Role.OPERATOR).get(url).content.decode()
    assert token in operator_page
    client.force_login(make_staff(Role.SUPPORT))
    support_page = client.get(url).content.decode()
    assert token not in support_page
    assert "cannot see invite links" in support_page


def test_invite_button_emails_a_new_link_and_marks_the_tenant_invited(
    staff_client, integration, mailoutbox
):
    tenant = TenantFactory(integration=integration, admin_email="nora@northwind.test")

    response = staff_client(Role.OPERATOR).post(
        reverse("tenant-invite", kwargs={"tenant_id": tenant.pk})
    )

    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.INVITED
    invite = tenant.invites.get()
    assert invite.sent_at is not None
    assert invite.sent_to == "nora@northwind.test"
    assert mailoutbox[0].to == ["nora@northwind.test"]
    assert "/consent/" in mailoutbox[0].body


def test_support_cannot_send_invites(staff_client, integration):
    tenant = TenantFactory(integration=integration)

    response = staff_client(Role.SUPPORT).post(
        reverse("tenant-invite", kwargs={"tenant_id": tenant.pk})
    )

    assert response.status_code == 403
    assert not Invite.objects.exists()


def test_archive_hides_an_unlinked_tenant_and_kills_its_invite(staff_client, integration):
    from tenants.tests.consent_helpers import send_invite

    tenant = TenantFactory(integration=integration)
    token = send_invite(tenant)
    client = staff_client(Role.OPERATOR)

    client.post(reverse("tenant-archive", kwargs={"tenant_id": tenant.pk}))

    tenant.refresh_from_db()
    assert tenant.is_archived
    assert client.get(reverse("consent-landing", kwargs={"token": token})).status_code == 410


def test_archive_of_a_linked_tenant_is_refused_with_a_reason(staff_client, consented_tenant):
    tenant = consented_tenant()

    response = staff_client(Role.OPERATOR).post(
        reverse("tenant-archive", kwargs={"tenant_id": tenant.pk}), follow=True
    )

    tenant.refresh_from_db()
    assert not tenant.is_archived
    assert "offboard it first" in response.content.decode()


# --- CSV import and export ----------------------------------------------------------------


def upload(client, integration, text: str):
    return client.post(
        reverse("tenant-import"),
        {
            "integration": integration.pk,
            "file": SimpleUploadedFile("tenants.csv", text.encode(), content_type="text/csv"),
        },
    )


def test_csv_import_creates_every_row(staff_client, integration):
    other = IntegrationFactory(name="Demo env")
    text = (
        "name,slug,admin_email,grant_mode,integration,notes\n"
        "Northwind,northwind,nora@northwind.test,acg,,\n"
        "Contoso,contoso,carl@contoso.test,jwt,Demo env,EU\n"
    )

    response = upload(staff_client(Role.OPERATOR), integration, text)

    assert response.status_code == 302
    assert Tenant.objects.get(slug="northwind").integration == integration
    contoso = Tenant.objects.get(slug="contoso")
    assert contoso.integration == other
    assert contoso.grant_mode == "jwt"
    assert AuditEvent.objects.filter(action="tenant.import", outcome="success").exists()


def test_csv_import_with_bad_rows_imports_nothing_and_reports_each_row(staff_client, integration):
    TenantFactory(slug="taken", integration=integration)
    text = (
        "name,slug,admin_email\n"
        "Good,good,good@client.test\n"
        "Dup one,dup,a@client.test\n"
        "Dup two,dup,b@client.test\n"
        "Bad email,bad-email,not-an-email\n"
        f"{'x' * 10_000},long-name,c@client.test\n"
        "Taken,taken,d@client.test\n"
    )

    response = upload(staff_client(Role.OPERATOR), integration, text)

    assert response.status_code == 400
    errors = dict(response.context["row_errors"])
    assert set(errors) == {4, 5, 6, 7}
    assert "also used on line 3" in errors[4]
    assert "admin_email" in errors[5]
    assert "name" in errors[6]
    assert "slug" in errors[7]
    assert Tenant.objects.count() == 1
    assert AuditEvent.objects.filter(action="tenant.import", outcome="failure").exists()
    assert "Nothing was imported" in response.content.decode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("foo,bar\n1,2\n", "header row must name"),
        ("name,slug\nA,a\n", "missing: admin_email"),
        ("name,slug,admin_email,colour\nA,a,a@x.test,red\n", "Unknown column"),
        ("name,slug,admin_email\n", "no tenant rows"),
    ],
)
def test_csv_import_of_a_malformed_file_says_why(staff_client, integration, text, expected):
    response = upload(staff_client(Role.OPERATOR), integration, text)

    assert response.status_code == 400
    assert expected in " ".join(r for _, r in response.context["row_errors"])
    assert not Tenant.objects.exists()


def test_csv_import_of_an_empty_file_is_a_field_error(staff_client, integration):
    response = upload(staff_client(Role.OPERATOR), integration, "")

    assert response.status_code == 400
    assert "file" in response.context["form"].errors


def test_csv_import_of_a_non_utf8_file_says_so(staff_client, integration):
    client = staff_client(Role.OPERATOR)
    response = client.post(
        reverse("tenant-import"),
        {
            "integration": integration.pk,
            "file": SimpleUploadedFile(
                "t.csv", "name,slug,admin_email\nÉ,e,e@x.test\n".encode("latin-1")
            ),
        },
    )
    assert response.status_code == 400
    assert "UTF-8" in response.content.decode()


def test_csv_export_neutralises_formula_prefixes(staff_client, integration):
    for prefix, slug in (("=", "eq"), ("+", "plus"), ("-", "minus"), ("@", "at")):
        TenantFactory(name=f'{prefix}HYPERLINK("http://evil")', slug=slug, integration=integration)

    response = staff_client(Role.SUPPORT).get(reverse("tenant-export"))

    body = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "name"
    names = [row[0] for row in rows[1:]]
    assert len(names) == 4
    assert all(name.startswith("'") for name in names)
    assert AuditEvent.objects.filter(action="tenant.export").exists()


# --- offboarding ----------------------------------------------------------------------------


def test_offboarding_needs_the_slug_typed(staff_client, consented_tenant):
    tenant = consented_tenant()

    response = staff_client(Role.OPERATOR).post(
        reverse("tenant-offboard", kwargs={"tenant_id": tenant.pk}), {"confirm_slug": "nope"}
    )

    assert response.status_code == 400
    assert TenantToken.objects.filter(tenant=tenant).exists()


# --- status ---------------------------------------------------------------------------------


def test_status_set_records_history_and_audit_and_is_a_no_op_when_unchanged(integration):
    tenant = TenantFactory(integration=integration)

    assert tenant_status_set(tenant=tenant, to_status="error", reason="boom", actor_label="t")
    assert not tenant_status_set(tenant=tenant, to_status="error", reason="again")

    change = tenant.status_changes.get()
    assert (change.from_status, change.to_status, change.reason) == ("registered", "error", "boom")
    assert AuditEvent.objects.filter(action="tenant.status").count() == 1
    tenant.refresh_from_db()
    assert tenant.status_reason == "boom"
