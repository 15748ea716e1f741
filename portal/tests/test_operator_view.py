"""Issue 17's walk-through, point by point: what an operator noticed is gone."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from common.bulk import bulk_operation_start
from events.models import PartnerHmacKey
from events.webhook_auth import delivery_failure_explain
from tenants.models import Invite, Tenant
from tenants.tests.factories import IntegrationFactory, TenantAccountFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration():
    return IntegrationFactory(name="Local emulator")


def test_bulk_invites_give_each_tenant_the_invite_it_needs(
    staff_client, integration, django_capture_on_commit_callbacks
):
    fresh = TenantFactory(integration=integration, status=Tenant.Status.REGISTERED)
    linked = TenantFactory(integration=integration, status=Tenant.Status.NEEDS_RECONSENT)
    TenantAccountFactory(tenant=linked)
    user = staff_client(Role.OPERATOR).user

    with django_capture_on_commit_callbacks(execute=True):
        bulk_operation_start(
            kind="reconsent_invite",
            tenants=[(fresh.pk, fresh.name), (linked.pk, linked.name)],
            actor=user,
        )

    fresh.refresh_from_db()
    assert fresh.status == Tenant.Status.INVITED  # as a single "Send invite" does
    assert Invite.objects.get(tenant=fresh).kind == Invite.Kind.CONSENT
    assert Invite.objects.get(tenant=linked).kind == Invite.Kind.RECONSENT


def test_archive_asks_first_and_can_be_undone(staff_client, integration):
    tenant = TenantFactory(integration=integration)
    client = staff_client(Role.OPERATOR)
    url = reverse("tenant-archive", kwargs={"tenant_id": tenant.pk})

    page = client.get(reverse("tenant-detail", kwargs={"tenant_id": tenant.pk})).content.decode()
    assert f'href="{url}"' in page  # a link to a confirmation, not a one-click POST
    confirm = client.get(url)
    assert "Archive tenant" in confirm.content.decode()
    tenant.refresh_from_db()
    assert not tenant.is_archived

    client.post(url)
    tenant.refresh_from_db()
    assert tenant.is_archived
    page = client.get(reverse("tenant-detail", kwargs={"tenant_id": tenant.pk})).content.decode()
    assert "Restore" in page

    client.post(reverse("tenant-unarchive", kwargs={"tenant_id": tenant.pk}))
    tenant.refresh_from_db()
    assert not tenant.is_archived


def test_duplicate_names_are_refused_and_the_slug_comes_from_the_name(staff_client, integration):
    client = staff_client(Role.OPERATOR)
    form = {
        "name": "Globex  Europe",
        "slug": "",
        "admin_email": "it@globex.example",
        "integration": integration.pk,
        "grant_mode": "acg",
    }
    client.post(reverse("tenant-create"), form)
    tenant = Tenant.objects.get()
    assert tenant.name == "Globex Europe"
    assert tenant.slug == "globex-europe"

    again = client.post(reverse("tenant-create"), {**form, "name": "globex europe"})
    assert again.status_code == 400
    assert "Another tenant is already named" in again.content.decode()
    assert Tenant.objects.count() == 1

    bad_slug = client.post(reverse("tenant-create"), {**form, "name": "Initech", "slug": "In It"})
    [error] = bad_slug.context["form"].errors["slug"]
    assert error in bad_slug.context["form"].fields["slug"].help_text


def test_sync_now_is_offered_only_where_a_sync_can_run(staff_client, integration):
    tenant = TenantFactory(integration=integration, status=Tenant.Status.REGISTERED)
    page = staff_client(Role.OPERATOR).get(
        reverse("tenant-detail", kwargs={"tenant_id": tenant.pk})
    )
    html = page.content.decode()
    assert "Sync Connect now" not in html
    assert "Connect syncs once the client admin has consented" in html


def test_favicon_is_served_and_linked(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("portal/favicon.svg")
    assert 'rel="icon"' in client.get(reverse("login")).content.decode()


def test_template_form_copy_says_what_it_accepts(staff_client, settings):
    settings.PORTAL_PUBLIC_URL = "http://127.0.0.1:8000"
    form = staff_client(Role.OWNER).get(reverse("connect-template-create")).context["form"]
    assert "PartnerPortal: your-slug" in form.fields["slug"].help_text
    assert "http" in form.fields["url_to_publish_to"].help_text
    assert "127.0.0.1" in form.fields["url_to_publish_to"].help_text
    assert form.initial["url_to_publish_to"] == "http://127.0.0.1:8000/hooks/docusign/connect/"


def test_a_refused_delivery_is_explained_with_the_page_that_fixes_it(integration):
    keys_url = reverse("integration-hmac-keys", kwargs={"integration_id": integration.pk})

    no_key = delivery_failure_explain(
        integration=integration, error="Every delivery failed: http://x/ → HTTP 401"
    )
    assert "no partner HMAC key is stored" in no_key.sentence
    assert no_key.fix_url == keys_url

    PartnerHmacKey.objects.create(
        integration=integration, label="k", secret="x" * 32, created_by_label="t"
    )
    wrong_key = delivery_failure_explain(integration=integration, error="→ HTTP 401")
    assert "matches none of the 1 HMAC key stored" in wrong_key.sentence
    assert wrong_key.fix_url == keys_url

    unreachable = delivery_failure_explain(
        integration=integration, error="→ ConnectionError: connection refused"
    )
    assert "could not reach" in unreachable.sentence
    assert unreachable.fix_url == reverse("connect-template-list")


def test_integration_pages_link_webhook_authentication(staff_client, integration):
    client = staff_client(Role.OWNER)
    keys_url = reverse("integration-hmac-keys", kwargs={"integration_id": integration.pk})
    assert keys_url in client.get(reverse("integration-list")).content.decode()
    edit = client.get(reverse("integration-edit", kwargs={"integration_id": integration.pk}))
    assert keys_url in edit.content.decode()
    assert "Webhook authentication" in edit.content.decode()
    section = client.get(keys_url).context["auth"]
    assert section["listener_url"].endswith("/hooks/docusign/connect/")
    assert any("No active Connect template" in p for p in section["problems"])
