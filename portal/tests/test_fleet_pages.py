"""The fleet pages: dashboard, tenant list with bulk actions, tenant page, bulk progress."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from common.charts import Series, stacked_bar_chart
from common.models import AuditEvent, BulkOperation, BulkOperationItem
from common.services import audit_record
from connect.models import SyncDailyStat, TenantConnectState
from tenants.models import Tenant
from tenants.services.status import tenant_status_set
from tenants.tests.factories import (
    IntegrationFactory,
    InviteFactory,
    TenantAccountFactory,
    TenantFactory,
    TenantTokenFactory,
)

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def integration():
    return IntegrationFactory(name="Acme emulator")


def test_dashboard_counts_tenants_by_state_with_links_to_the_filtered_list(
    staff_client, integration
):
    TenantFactory.create_batch(3, integration=integration, status=Tenant.Status.ACTIVE)
    TenantFactory(integration=integration, status=Tenant.Status.INVITED)
    TenantFactory(integration=integration, status=Tenant.Status.ACTIVE, archived_at=timezone.now())

    response = staff_client(Role.SUPPORT).get(reverse("dashboard"))

    assert response.status_code == 200
    states = {s["key"]: s for s in response.context["states"]}
    assert states["active"]["count"] == 3
    assert states["invited"]["count"] == 1
    assert states["archived"]["count"] == 1
    assert states["active"]["url"] == reverse("tenant-list") + "?status=active"
    assert 'href="/tenants/?status=active"' in response.content.decode()


def test_dashboard_names_tenants_needing_a_human_and_why(staff_client, integration):
    now = timezone.now()
    reconsent = TenantFactory(integration=integration, name="Needs Reconsent Co")
    tenant_status_set(
        tenant=reconsent,
        to_status=Tenant.Status.NEEDS_RECONSENT,
        reason="Refresh token revoked",
        actor_label="tests",
    )
    expired = TenantFactory(
        integration=integration, name="Expired Invite Co", status=Tenant.Status.INVITED
    )
    InviteFactory(tenant=expired, expires_at=now - timedelta(days=2))
    waiting = TenantFactory(
        integration=integration, name="Fresh Invite Co", status=Tenant.Status.INVITED
    )
    InviteFactory(tenant=waiting)
    lapsing = TenantFactory(integration=integration, name="Lapsing Co", status=Tenant.Status.ACTIVE)
    TenantTokenFactory(tenant=lapsing, refresh_expires_at=now + timedelta(days=2, hours=1))
    drift = TenantFactory(integration=integration, name="Drift Co", status=Tenant.Status.ACTIVE)
    TenantConnectState.objects.create(tenant=drift, status="drift", last_sync_at=now)
    failing = TenantFactory(integration=integration, name="Failing Co", status=Tenant.Status.ACTIVE)
    TenantConnectState.objects.create(
        tenant=failing,
        status="failing",
        last_sync_at=now,
        consecutive_failures=4,
        last_error="DocuSign said 503",
    )

    response = staff_client(Role.SUPPORT).get(reverse("dashboard"))

    attention = {a["key"]: a for a in response.context["attention"]}
    assert attention["needs_reconsent"]["count"] == 1
    assert attention["needs_reconsent"]["tenants"][0]["reason"] == "Refresh token revoked"
    assert attention["invite_expired"]["count"] == 1
    assert attention["invite_expired"]["tenants"][0]["name"] == "Expired Invite Co"
    assert attention["lapsing"]["count"] == 1
    assert "in 2 days" in attention["lapsing"]["tenants"][0]["reason"]
    assert attention["connect_drift"]["tenants"][0]["name"] == "Drift Co"
    assert attention["sync_failing"]["tenants"][0]["reason"] == (
        "4 failed syncs in a row: DocuSign said 503"
    )
    html = _text(response)
    assert "Failing Co" in html
    assert f'href="/tenants/{failing.pk}/"' in html
    assert 'href="/tenants/?attention=sync_failing"' in html


def test_dashboard_draws_sync_outcomes_and_token_expiries_as_inline_svg(staff_client, integration):
    today = timezone.localdate()
    SyncDailyStat.objects.create(date=today, outcome="in_sync", count=40)
    SyncDailyStat.objects.create(date=today, outcome="failed", count=3)
    tenant = TenantFactory(integration=integration, status=Tenant.Status.ACTIVE)
    TenantTokenFactory(tenant=tenant, refresh_expires_at=timezone.now() + timedelta(days=3))

    response = staff_client(Role.SUPPORT).get(reverse("dashboard"))

    html = response.content.decode()
    assert html.count("<svg") == 2
    assert f"{today:%d %b}: 40 In sync" in html
    assert f"{today:%d %b}: 3 Failed" in html
    assert response.context["token_chart"]["total"] == 1
    assert "https://" not in re.sub(r'xmlns="[^"]+"', "", html.split("<svg", 1)[1])


def test_stacked_bar_chart_escapes_labels_and_stacks_in_proportion():
    svg = str(
        stacked_bar_chart(
            title="Syncs <b>",
            labels=["<day>", "b"],
            series=[Series("ok", "s-ok", [10, 0]), Series("bad & worse", "s-bad", [10, 5])],
            y_label="syncs",
            x_label="day",
            empty_text="none",
        )
    )
    assert "<b>" not in svg
    assert "&lt;day&gt;" in svg
    assert "bad &amp; worse" in svg
    heights = [float(h) for h in re.findall(r'height="([\d.]+)"><title>', svg)]
    # Axis top is 20: the first bar fills the plot; its two halves are equal; the second is half.
    assert heights[0] == heights[1]
    assert heights[2] == pytest.approx(heights[0] / 2)


def test_tenant_list_finds_by_name_slug_admin_email_and_account_id(staff_client, integration):
    target = TenantFactory(
        integration=integration,
        name="Globex Holdings",
        slug="globex",
        admin_email="it@globex.example",
    )
    TenantAccountFactory(tenant=target, account_id="a1b2c3d4-0000-4000-8000-000000000001")
    TenantFactory.create_batch(3, integration=integration)
    client = staff_client(Role.SUPPORT)

    for query in ("globex hold", "GLOBEX", "it@globex", "a1b2c3d4-0000-4000-8000-000000000001"):
        response = client.get(reverse("tenant-list"), {"q": query})
        assert [r["pk"] for r in response.context["rows"]] == [target.pk], query


def test_tenant_list_filters_by_state_integration_and_connect_health(staff_client, integration):
    other = IntegrationFactory(name="Other key")
    active_ok = TenantFactory(integration=integration, status=Tenant.Status.ACTIVE)
    TenantConnectState.objects.create(tenant=active_ok, status="in_sync")
    active_drift = TenantFactory(integration=integration, status=Tenant.Status.ACTIVE)
    TenantConnectState.objects.create(tenant=active_drift, status="drift")
    invited_other = TenantFactory(integration=other, status=Tenant.Status.INVITED)
    client = staff_client(Role.SUPPORT)

    def found(**params):
        return {r["pk"] for r in client.get(reverse("tenant-list"), params).context["rows"]}

    assert found(status="active") == {active_ok.pk, active_drift.pk}
    assert found(integration=other.pk) == {invited_other.pk}
    assert found(health="drift") == {active_drift.pk}
    assert found(status="active", health="in_sync") == {active_ok.pk}
    assert found(health="never") == {invited_other.pk}


def test_tenant_list_sorts_by_consent_lapse_and_pages_by_fifty(staff_client, integration):
    now = timezone.now()
    tenants = TenantFactory.create_batch(55, integration=integration)
    soonest = tenants[30]
    TenantTokenFactory(tenant=soonest, refresh_expires_at=now + timedelta(days=1))
    TenantTokenFactory(tenant=tenants[10], refresh_expires_at=now + timedelta(days=9))
    client = staff_client(Role.SUPPORT)

    first = client.get(reverse("tenant-list"), {"sort": "token_expiry"})
    second = client.get(reverse("tenant-list"), {"sort": "token_expiry", "page": 2})

    assert [r["pk"] for r in first.context["rows"]][:2] == [soonest.pk, tenants[10].pk]
    assert len(first.context["rows"]) == 50
    assert len(second.context["rows"]) == 5
    assert first.context["columns"]["token_expiry"]["aria_sort"] == "ascending"
    assert "sort=-token_expiry" in first.context["columns"]["token_expiry"]["url"]
    assert "sort=token_expiry&amp;page=2" in first.content.decode()


def test_archived_tenants_are_listed_only_when_asked_for(staff_client, integration):
    archived = TenantFactory(integration=integration, archived_at=timezone.now())
    kept = TenantFactory(integration=integration)
    client = staff_client(Role.SUPPORT)

    assert [r["pk"] for r in client.get(reverse("tenant-list")).context["rows"]] == [kept.pk]
    rows = client.get(reverse("tenant-list"), {"status": "archived"}).context["rows"]
    assert [r["pk"] for r in rows] == [archived.pk]


def test_bulk_resync_of_ticked_tenants_runs_each_and_shows_the_results(
    staff_client, integration, django_capture_on_commit_callbacks
):
    # No linked account: the Connect reconcile skips them, which is a per-tenant outcome.
    picked = TenantFactory.create_batch(2, integration=integration)
    TenantFactory(integration=integration)
    client = staff_client(Role.OPERATOR)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("bulk-start"),
            {
                "kind": BulkOperation.Kind.CONNECT_RESYNC,
                "all_matching": "",
                "tenant_ids": [t.pk for t in picked],
            },
        )

    operation = BulkOperation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("bulk-detail", kwargs={"operation_id": operation.pk})
    assert operation.total == 2
    assert operation.done == 2
    assert operation.finished_at is not None
    assert set(operation.items.values_list("tenant_id", flat=True)) == {t.pk for t in picked}
    assert not operation.items.filter(outcome=BulkOperationItem.Outcome.PENDING).exists()

    progress = client.get(reverse("bulk-progress", kwargs={"operation_id": operation.pk}))
    html = progress.content.decode()
    assert 'aria-valuenow="100"' in html
    assert "hx-trigger" not in html  # finished: the page stops polling
    assert picked[0].name in html


def test_bulk_action_on_all_tenants_matching_the_filter(
    staff_client, integration, django_capture_on_commit_callbacks
):
    matching = TenantFactory.create_batch(3, integration=integration, status=Tenant.Status.ERROR)
    TenantFactory.create_batch(2, integration=integration, status=Tenant.Status.ACTIVE)
    client = staff_client(Role.OPERATOR)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("bulk-start"),
            {
                "kind": BulkOperation.Kind.CONNECT_RESYNC,
                "all_matching": "on",
                "status": "error",
                "tenant_ids": [matching[0].pk],
            },
        )

    operation = BulkOperation.objects.get()
    assert set(operation.items.values_list("tenant_id", flat=True)) == {t.pk for t in matching}


def test_unfinished_bulk_operation_keeps_polling_every_second(staff_client):
    operation = BulkOperation.objects.create(
        kind=BulkOperation.Kind.CONNECT_RESYNC, total=4, succeeded=1
    )
    response = staff_client(Role.SUPPORT).get(
        reverse("bulk-detail", kwargs={"operation_id": operation.pk})
    )
    html = response.content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert 'aria-valuenow="25"' in html


def test_bulk_start_without_tenants_explains_and_starts_nothing(staff_client):
    client = staff_client(Role.OPERATOR)
    response = client.post(
        reverse("bulk-start"),
        {"kind": BulkOperation.Kind.CONNECT_RESYNC, "all_matching": ""},
        follow=True,
    )
    assert "Tick at least one tenant" in response.content.decode()
    assert not BulkOperation.objects.exists()


def test_support_cannot_start_a_bulk_operation_and_sees_no_bulk_bar(staff_client, integration):
    tenant = TenantFactory(integration=integration)
    client = staff_client(Role.SUPPORT)

    listing = client.get(reverse("tenant-list"))
    refused = client.post(
        reverse("bulk-start"),
        {
            "kind": BulkOperation.Kind.CONNECT_RESYNC,
            "tenant_ids": [tenant.pk],
        },
    )

    assert 'action="/bulk/"' not in listing.content.decode()
    assert 'name="tenant_ids"' not in listing.content.decode()
    assert refused.status_code == 403
    assert not BulkOperation.objects.exists()
    assert AuditEvent.objects.filter(action="access.denied", actor=client.user).exists()


def test_tenant_page_shows_status_history_audit_trail_and_token_expiry_never_the_token(
    staff_client, integration
):
    tenant = TenantFactory(integration=integration, name="Initech")
    TenantAccountFactory(tenant=tenant, account_id="acct-initech", base_uri="https://na3.example/x")
    TenantTokenFactory(tenant=tenant, access_token="SECRET-ACCESS", refresh_token="SECRET-REFRESH")
    tenant_status_set(
        tenant=tenant,
        to_status=Tenant.Status.ACTIVE,
        reason="First sync ok",
        actor_label="scheduler",
    )
    audit_record(action="tenant.note", actor_label="tests", target=tenant, message="hello trail")

    response = staff_client(Role.SUPPORT).get(
        reverse("tenant-detail", kwargs={"tenant_id": tenant.pk})
    )

    html = _text(response)
    assert response.status_code == 200
    assert "First sync ok" in html
    assert "hello trail" in html
    assert "acct-initech" in html
    assert "https://na3.example/x" in html
    assert "SECRET-ACCESS" not in html
    assert "SECRET-REFRESH" not in html
    assert [h["to_label"] for h in response.context["history"]] == ["Active"]


def test_tenant_page_shows_each_area_panel_in_order(staff_client, integration):
    tenant = TenantFactory(integration=integration)
    response = staff_client(Role.SUPPORT).get(
        reverse("tenant-detail", kwargs={"tenant_id": tenant.pk})
    )

    assert [p["key"] for p in response.context["panels"]] == [
        "alerts_tenant_panel",
        "tenant_consent_panel",
        "token_tenant_panel",
        "connect_tenant_panel",
        "events_tenant_panel",
        "recovery_tenant_panel",
    ]


def test_tenant_page_offers_only_the_actions_the_role_allows(staff_client, integration):
    tenant = TenantFactory(integration=integration, status=Tenant.Status.ACTIVE)
    url = reverse("tenant-detail", kwargs={"tenant_id": tenant.pk})

    support = staff_client(Role.SUPPORT).get(url)
    owner = staff_client(Role.OWNER).get(url)

    assert support.context["actions"] == []
    assert "data-action=" not in support.content.decode()
    offered = {a["name"] for a in owner.context["actions"]}
    assert "tenant-edit" in offered
    assert offered <= {
        "tenant-edit",
        "tenant-invite",
        "tenant-archive",
        "tenant-offboard",
        "tenant-reconsent",
        "tenant-connect-sync",
        "tenant-send-test-event",
    }


def test_lifecycle_actions_follow_the_tenant_state_and_each_action_appears_once(
    staff_client, integration
):
    registered = TenantFactory(integration=integration)
    linked = TenantFactory(integration=integration, status=Tenant.Status.ACTIVE)
    TenantAccountFactory(tenant=linked)
    client = staff_client(Role.OWNER)

    def offered(tenant):
        page = client.get(reverse("tenant-detail", kwargs={"tenant_id": tenant.pk}))
        return [a["name"] for a in page.context["actions"]]

    # Archiving a tenant that holds an account is refused by the service, so it is not offered.
    assert offered(registered) == ["tenant-edit", "tenant-archive"]
    assert offered(linked) == ["tenant-edit", "tenant-offboard"]
    html = client.get(reverse("tenant-detail", kwargs={"tenant_id": linked.pk})).content.decode()
    sync_url = reverse("tenant-connect-sync", kwargs={"tenant_id": linked.pk})
    assert html.count(f'action="{sync_url}"') == 1


def test_missing_tenant_or_operation_answers_404(staff_client):
    client = staff_client(Role.SUPPORT)
    assert client.get(reverse("tenant-detail", kwargs={"tenant_id": 999999})).status_code == 404
    assert client.get(reverse("bulk-detail", kwargs={"operation_id": 999999})).status_code == 404


def test_navigation_links_every_installed_area_and_marks_the_current_one(staff_client):
    response = staff_client(Role.SUPPORT).get(reverse("tenant-list"))
    links = {link["label"]: link for link in response.context["nav_links"]}
    assert {"Dashboard", "Tenants", "Audit log", "Staff"} <= set(links)
    assert links["Tenants"]["current"]
    assert not links["Dashboard"]["current"]
    assert '<a href="/tenants/" aria-current="page">Tenants</a>' in response.content.decode()


def test_a_page_for_an_id_larger_than_any_row_s_is_not_found(staff_client, integration):
    client = staff_client()
    too_large = 2**63  # past PostgreSQL's bigint and SQLite's integer: never a server error
    for path in (f"/tenants/{too_large}/", f"/tenants/{too_large}/edit/", f"/tenants/1{'0' * 30}/"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/tenants/{too_large - 1}/").status_code == 404
