"""Each "needs a human" state appears (dashboard category, tenant-list filter, alert) when its
condition holds and clears when it stops holding; the dashboard's numbers add up."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from alerts.models import TenantAlert
from alerts.services.alerts import alert_notify, alerts_evaluate
from connect.models import TenantConnectState
from connect.tests.factories import ConnectTemplateFactory
from tenants.models import Invite, Tenant
from tenants.selectors.attention import ATTENTION_KEYS, tenant_attention_map
from tenants.tests.factories import (
    IntegrationFactory,
    InviteFactory,
    TenantAccountFactory,
    TenantFactory,
    TenantTokenFactory,
)

pytestmark = pytest.mark.django_db


def _now():
    return timezone.now()


def _linked(status=Tenant.Status.ACTIVE, **state):
    tenant = TenantFactory(status=status)
    TenantAccountFactory(tenant=tenant, account_id=f"acc-{tenant.pk}")
    TenantTokenFactory(tenant=tenant)
    TenantConnectState.objects.create(tenant=tenant, status="in_sync", **state)
    return tenant


def _invited(**invite):
    tenant = TenantFactory(status=Tenant.Status.INVITED)
    defaults = {"expires_at": _now() + timedelta(days=5), "sent_at": _now()}
    InviteFactory(tenant=tenant, **{**defaults, **invite})
    return tenant


def _state(tenant, **fields):
    TenantConnectState.objects.filter(tenant=tenant).update(**fields)


# (reason, make the tenant need a human, make it fine again)
def needs_reconsent():
    tenant = _linked(status=Tenant.Status.NEEDS_RECONSENT)
    return tenant, lambda: Tenant.objects.filter(pk=tenant.pk).update(status="active")


def consent_failed():
    tenant = _invited(failed_at=_now(), failure_code="account_taken")

    def retried_and_consented():
        Invite.objects.filter(tenant=tenant).update(completed_at=_now())
        Tenant.objects.filter(pk=tenant.pk).update(status="consented")

    return tenant, retried_and_consented


def invite_unanswered():
    tenant = _invited(created_at=_now() - timedelta(days=4), sent_at=_now() - timedelta(days=4))
    return tenant, lambda: Tenant.objects.filter(pk=tenant.pk).update(status="consented")


def invite_expired():
    tenant = _invited(expires_at=_now() - timedelta(hours=1))
    return tenant, lambda: InviteFactory(tenant=tenant, expires_at=_now() + timedelta(days=7))


def lapsing():
    tenant = _linked()
    tenant.token.refresh_expires_at = _now() + timedelta(days=2)
    tenant.token.save()
    return (
        tenant,
        lambda: (
            type(tenant.token)
            .objects.filter(tenant=tenant)
            .update(refresh_expires_at=_now() + timedelta(days=30))
        ),
    )


def behind():
    tenant = _linked()
    template = ConnectTemplateFactory(integration=tenant.integration, current_version=2)
    _state(tenant, versions={template.slug: 1})
    return tenant, lambda: _state(tenant, versions={template.slug: 2})


def connect_drift():
    tenant = _linked()
    _state(tenant, status="drift")
    return tenant, lambda: _state(tenant, status="in_sync")


def sync_failing():
    tenant = _linked()
    _state(tenant, status="failing", consecutive_failures=3, last_error="DocuSign said no")
    return tenant, lambda: _state(tenant, status="in_sync", consecutive_failures=0)


def work_waiting():
    tenant = _linked()
    _state(
        tenant,
        queued_at=_now() - timedelta(hours=1),
        lease_expires_at=_now() - timedelta(minutes=5),
    )
    return tenant, lambda: _state(tenant, lease_expires_at=None)


def rate_limit_low():
    tenant = _linked()
    _state(
        tenant,
        rate_limit_limit=1000,
        rate_limit_remaining=20,
        rate_limit_reset_at=_now() + timedelta(minutes=30),
    )
    return tenant, lambda: _state(tenant, rate_limit_remaining=900)


STATES = {
    f.__name__: f
    for f in (
        needs_reconsent,
        consent_failed,
        invite_unanswered,
        invite_expired,
        lapsing,
        behind,
        connect_drift,
        sync_failing,
        work_waiting,
        rate_limit_low,
    )
}


def test_every_attention_category_is_covered_here():
    assert sorted(STATES) == sorted(ATTENTION_KEYS)


@pytest.mark.parametrize("reason", sorted(STATES))
def test_state_appears_everywhere_and_clears(reason, staff_client, settings):
    settings.STAFF_ALERT_EMAILS = ["ops@partner.example"]
    client = staff_client(Role.OWNER)
    TenantFactory(status=Tenant.Status.REGISTERED)  # a bystander that never needs anyone
    tenant, fix = STATES[reason]()

    assert list(tenant_attention_map()) == [tenant.pk]
    assert reason in tenant_attention_map()[tenant.pk]
    listed = client.get(reverse("tenant-list"), {"attention": reason}).context["rows"]
    assert [r["pk"] for r in listed] == [tenant.pk]
    anything = client.get(reverse("tenant-list"), {"attention": "any"}).context["rows"]
    assert [r["pk"] for r in anything] == [tenant.pk]
    dashboard = client.get(reverse("dashboard")).context
    counts = {a["key"]: a["count"] for a in dashboard["attention"]}
    assert counts[reason] == 1
    assert dashboard["attention_tenants"] == 1
    assert dashboard["attention_reasons"] == sum(counts.values())
    [category] = [a for a in dashboard["attention"] if a["key"] == reason]
    assert category["tenants"][0]["reason"]  # a sentence, not a bare flag

    opened = alerts_evaluate()
    [alert] = TenantAlert.objects.filter(tenant=tenant, reason=reason)
    assert opened.opened == [alert.pk]
    assert alert_notify(alert_id=alert.pk) == "opened"
    assert [m.to for m in mail.outbox] == [["ops@partner.example"]]
    assert tenant.name in mail.outbox[0].subject

    fix()

    assert tenant_attention_map() == {}
    assert client.get(reverse("tenant-list"), {"attention": reason}).context["rows"] == []
    assert client.get(reverse("dashboard")).context["attention_tenants"] == 0
    resolved = alerts_evaluate()
    assert resolved.resolved == [alert.pk]
    assert alert_notify(alert_id=alert.pk) == "resolved"
    assert mail.outbox[-1].subject.startswith("[Resolved]")


def test_consent_failure_names_the_reason_and_what_to_do(staff_client):
    tenant, _ = consent_failed()
    [text] = tenant_attention_map()[tenant.pk].values()
    assert "account_taken" in text
    assert "another tenant" in text
    page = staff_client(Role.OWNER).get(reverse("tenant-detail", kwargs={"tenant_id": tenant.pk}))
    assert "already linked to another tenant" in page.content.decode()


def test_behind_shows_in_the_list_and_on_the_tenant_page_instead_of_in_sync(staff_client):
    tenant, fix = behind()
    client = staff_client(Role.SUPPORT)
    [row] = client.get(reverse("tenant-list")).context["rows"]
    assert row["health_label"].startswith("Behind")
    page = client.get(reverse("tenant-detail", kwargs={"tenant_id": tenant.pk}))
    assert page.context["row"]["health_label"].startswith("Behind")
    fix()
    [row] = client.get(reverse("tenant-list")).context["rows"]
    assert row["health_label"] == "In sync"


def test_behind_ignores_templates_for_chosen_tenants_it_is_not_assigned_to():
    tenant = _linked()
    ConnectTemplateFactory(integration=tenant.integration, applies_to="chosen", current_version=3)
    assert tenant_attention_map() == {}


def test_dashboard_tiles_add_up_to_every_tenant(staff_client):
    TenantFactory.create_batch(2)
    TenantFactory(archived_at=_now())
    _linked()
    context = staff_client(Role.SUPPORT).get(reverse("dashboard")).context
    assert sum(s["count"] for s in context["states"]) == context["tenants_all"] == 4
    assert context["tenants_listed"] == 3


def test_dashboard_links_the_silent_tenants(staff_client):
    quiet = _linked(connect_ids={"hooks": "123"})
    _linked()  # no configuration on the account: not expected to send anything
    client = staff_client(Role.SUPPORT)
    dashboard = client.get(reverse("dashboard"))
    assert dashboard.context["silent_count"] == 1
    html = dashboard.content.decode()
    assert '<a href="/tenants/?health=silent"><span class="badge warn">1</span> tenant</a>' in html
    rows = client.get(reverse("tenant-list"), {"health": "silent"}).context["rows"]
    assert [r["pk"] for r in rows] == [quiet.pk]


def test_integration_of_no_template_is_never_behind():
    IntegrationFactory()
    _linked()
    assert tenant_attention_map() == {}
