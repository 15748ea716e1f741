"""Staff actions and the token panel: re-consent (one click and bulk), refresh now."""

from datetime import timedelta

import pytest
from django.core import mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from common.bulk import bulk_operation_start
from common.models import AuditEvent, BulkOperation, BulkOperationItem
from tenants.models import Invite, Tenant, TenantToken
from tenants.selectors.tokens import token_tenant_panel
from tenants.tests.factories import TenantFactory

REFRESH = "POST /oauth/token refresh_token"


def flag_needs_reconsent(tenant) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.NEEDS_RECONSENT)
    TenantToken.objects.filter(tenant=tenant).update(
        failure_count=1, last_error_code="invalid_grant", last_error_at=timezone.now()
    )
    tenant.refresh_from_db()


@pytest.mark.django_db
def test_operator_sends_a_reconsent_invite_in_one_click(staff_client, consented_tenant):
    tenant = consented_tenant()
    flag_needs_reconsent(tenant)
    client = staff_client(Role.OPERATOR)

    response = client.post(reverse("tenant-reconsent", kwargs={"tenant_id": tenant.pk}))

    assert response.status_code == 302
    assert response["Location"] == reverse("tenant-detail", kwargs={"tenant_id": tenant.pk})
    invite = Invite.objects.get(tenant=tenant)
    assert invite.kind == Invite.Kind.RECONSENT
    assert [m.to for m in mail.outbox] == [[tenant.admin_email]]
    assert "reconnect" in mail.outbox[0].subject
    assert AuditEvent.objects.filter(
        action="invite.create", actor=client.user, target_id=str(tenant.pk)
    ).exists()


@pytest.mark.django_db
def test_support_cannot_send_a_reconsent_invite(staff_client, consented_tenant):
    tenant = consented_tenant()
    client = staff_client(Role.SUPPORT)

    response = client.post(reverse("tenant-reconsent", kwargs={"tenant_id": tenant.pk}))

    assert response.status_code == 403
    assert not Invite.objects.filter(tenant=tenant).exists()
    assert AuditEvent.objects.filter(action="access.denied", actor=client.user).exists()


@pytest.mark.django_db
def test_reconsent_for_an_offboarded_tenant_explains_why_nothing_was_sent(
    staff_client, consented_tenant
):
    tenant = consented_tenant()
    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.OFFBOARDED)
    client = staff_client(Role.OPERATOR)

    response = client.post(
        reverse("tenant-reconsent", kwargs={"tenant_id": tenant.pk}), follow=True
    )

    assert "offboarded" in response.content.decode()
    assert not Invite.objects.filter(tenant=tenant).exists()


@pytest.mark.django_db
def test_operator_refreshes_tokens_now(staff_client, consented_tenant, emulator):
    tenant = consented_tenant()
    emulator.reset_calls()
    client = staff_client(Role.OPERATOR)

    response = client.post(
        reverse("tenant-token-refresh", kwargs={"tenant_id": tenant.pk}), follow=True
    )

    assert "Tokens refreshed" in response.content.decode()
    assert emulator.calls().get(REFRESH, 0) == 1
    assert TenantToken.objects.get(tenant=tenant).generation == 1
    assert AuditEvent.objects.filter(
        action="token.refresh", actor=client.user, target_id=str(tenant.pk)
    ).exists()


@pytest.mark.django_db
def test_refresh_now_on_a_tenant_needing_reconsent_calls_nobody(
    staff_client, consented_tenant, emulator
):
    tenant = consented_tenant()
    flag_needs_reconsent(tenant)
    emulator.reset_calls()
    client = staff_client(Role.OPERATOR)

    response = client.post(
        reverse("tenant-token-refresh", kwargs={"tenant_id": tenant.pk}), follow=True
    )

    assert "Send a re-consent invite" in response.content.decode()
    assert emulator.calls().get(REFRESH, 0) == 0


@pytest.mark.django_db
def test_bulk_reconsent_invites_each_tenant_and_skips_offboarded_ones(
    make_staff, consented_tenant, django_capture_on_commit_callbacks
):
    flagged = consented_tenant()
    flag_needs_reconsent(flagged)
    gone = TenantFactory(status=Tenant.Status.OFFBOARDED)

    with django_capture_on_commit_callbacks(execute=True):
        operation = bulk_operation_start(
            kind=BulkOperation.Kind.RECONSENT_INVITE,
            tenants=[(flagged.pk, flagged.name), (gone.pk, gone.name)],
            actor=make_staff(Role.OPERATOR),
        )

    operation.refresh_from_db()
    outcomes = dict(operation.items.values_list("tenant_id", "outcome"))
    assert outcomes == {
        flagged.pk: BulkOperationItem.Outcome.SUCCEEDED,
        gone.pk: BulkOperationItem.Outcome.SKIPPED,
    }
    assert (operation.succeeded, operation.skipped, operation.finished_at is not None) == (
        1,
        1,
        True,
    )
    assert Invite.objects.get(tenant=flagged).kind == Invite.Kind.RECONSENT


@pytest.mark.django_db
def test_token_panel_shows_upkeep_facts_but_never_a_token(consented_tenant):
    tenant = consented_tenant()
    row = TenantToken.objects.get(tenant=tenant)

    panel = token_tenant_panel(tenant=tenant)

    assert panel["access_expires_at"] == row.access_expires_at
    assert panel["refresh_expires_at"] == row.refresh_expires_at
    assert (panel["health"], panel["health_badge"]) == ("Healthy", "ok")
    values = [str(value) for value in panel.values()]
    assert not any(row.access_token in v or row.refresh_token in v for v in values)


@pytest.mark.django_db
def test_token_panel_warns_before_the_grant_lapses(consented_tenant):
    tenant = consented_tenant()
    TenantToken.objects.filter(tenant=tenant).update(
        refresh_expires_at=timezone.now() + timedelta(days=2)
    )

    panel = token_tenant_panel(tenant=tenant)

    assert panel["lapse_warning"] is True
    assert panel["health_badge"] == "warn"


@pytest.mark.parametrize(("can_operate", "shows_button"), [(True, True), (False, False)])
@pytest.mark.django_db
def test_reconsent_button_is_shown_only_to_staff_who_may_operate(
    consented_tenant, can_operate, shows_button
):
    tenant = consented_tenant()
    flag_needs_reconsent(tenant)
    panel = token_tenant_panel(tenant=tenant)

    html = render_to_string(
        "tenants/_token_panel.html",
        {**panel, "panel": panel, "tenant": tenant, "staff_can": {"operate": can_operate}},
    )

    assert "invalid_grant" in html
    assert ("Send re-consent invite" in html) is shows_button
    assert (reverse("tenant-reconsent", kwargs={"tenant_id": tenant.pk}) in html) is shows_button


@pytest.mark.django_db
def test_tenant_page_includes_the_token_panel(staff_client, consented_tenant):
    tenant = consented_tenant()
    row = TenantToken.objects.get(tenant=tenant)
    client = staff_client(Role.SUPPORT)

    response = client.get(reverse("tenant-detail", kwargs={"tenant_id": tenant.pk}))

    body = response.content.decode()
    assert response.status_code == 200
    assert "DocuSign access" in body
    assert row.access_token not in body
    assert row.refresh_token not in body
    assert "Refresh tokens now" not in body
