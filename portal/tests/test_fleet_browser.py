"""The main staff journeys in a real browser: Debian's Chromium driven by Playwright.

Screenshots land in artifacts/screenshots/ (the README shows dashboard.png).
"""

import re

import pytest

from accounts.roles import Role
from accounts.tests.factories import STAFF_PASSWORD, UserFactory
from common.models import BulkOperation
from portal.tests.fleet_data import fleet_create
from tenants.models import Tenant
from tenants.tests.factories import IntegrationFactory
from testing.browser import requires_chromium, screenshot

pytestmark = requires_chromium


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _sign_in(page, live_server, role: str):
    user = UserFactory(role=role)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    return user


@pytest.fixture
def fleet(transactional_db):
    integration = IntegrationFactory(name="Acme production key")
    fleet_create(
        count=120,
        integration=integration,
        sync_days=30,
        sync_per_tenant_day=0.6,
        prefix="Northwind",
    )
    return integration


def test_staff_member_signs_in_and_reads_the_dashboard(page, live_server, fleet):
    _sign_in(page, live_server, Role.OPERATOR)

    assert page.get_by_role("heading", name="Fleet health").is_visible()
    assert page.locator("nav[aria-label=Main] a[aria-current=page]").inner_text() == "Dashboard"
    assert page.locator("figure.chart svg").count() == 2
    assert page.get_by_role("link", name="Needs re-consent", exact=True).is_visible()
    screenshot(page, "dashboard")

    page.get_by_role("link", name="Sync failing", exact=True).click()
    page.wait_for_url(re.compile(r"attention=sync_failing"))
    assert page.locator("table.tenants tbody tr").count() > 0


def test_staff_member_finds_a_tenant_by_search_and_opens_it(page, live_server, fleet):
    _sign_in(page, live_server, Role.SUPPORT)
    page.get_by_role("link", name="Tenants", exact=True).click()
    page.get_by_label("Search").fill("northwind client 00042")
    page.get_by_role("button", name="Search").click()

    rows = page.locator("table.tenants tbody tr")
    assert rows.count() == 1
    screenshot(page, "tenant-search")
    rows.get_by_role("link", name="Northwind client 00042").click()

    assert page.get_by_role("heading", name=re.compile("Northwind client 00042")).is_visible()
    assert page.get_by_role("heading", name="Status history").is_visible()


def test_operator_resyncs_tenants_in_bulk_and_watches_progress_reach_100(
    page, live_server, transactional_db, emulator, emulator_integration, consented_tenant
):
    from connect.tests.factories import ConnectTemplateFactory, sim_settings
    from docusign_emulator.testing import TEST_ACCOUNT_1_ID

    ConnectTemplateFactory(
        name="Envelope events",
        slug="envelope-events",
        integration=emulator_integration,
        settings=sim_settings(
            url_to_publish_to="https://hooks.partner.example/docusign",
            events=["envelope-completed"],
            include_data=[],
            include_hmac=False,
        ),
    )
    # One real, consented tenant that the resync pushes to the emulator, and two that it skips
    # because they have not consented yet.
    linked = consented_tenant(name="Contoso (linked)")
    for n in range(2):
        Tenant.objects.create(
            name=f"Contoso waiting {n}",
            slug=f"contoso-waiting-{n}",
            admin_email=f"it{n}@contoso.example",
            integration=emulator_integration,
        )

    _sign_in(page, live_server, Role.OPERATOR)
    page.goto(f"{live_server.url}/tenants/?q=contoso")
    assert page.locator("table.tenants tbody tr").count() == 3
    page.get_by_label("Tick every tenant on this page").check()
    page.get_by_label("Action", exact=True).select_option(BulkOperation.Kind.CONNECT_RESYNC)
    page.get_by_role("button", name="Start").click()

    page.wait_for_url(re.compile(r"/bulk/\d+/$"))
    page.wait_for_selector('[role=progressbar][aria-valuenow="100"]')
    assert page.get_by_text("Finished", exact=True).is_visible()
    assert page.locator("#bulk-progress tbody tr").count() == 3
    screenshot(page, "bulk-progress")

    operation = BulkOperation.objects.get()
    assert (operation.total, operation.succeeded, operation.skipped) == (3, 1, 2)
    assert operation.items.get(tenant_id=linked.pk).outcome == "succeeded"
    names = [c.get("name") for c in emulator.connect_configs(TEST_ACCOUNT_1_ID)]
    assert "PartnerPortal: envelope-events" in names


def test_support_sees_the_tenant_page_without_any_action_button(page, live_server, fleet):
    tenant = Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("pk").first()
    _sign_in(page, live_server, Role.SUPPORT)
    page.goto(f"{live_server.url}/tenants/{tenant.pk}/")

    assert page.get_by_role("heading", name=re.compile(re.escape(tenant.name))).is_visible()
    assert page.locator("[data-action]").count() == 0
    assert page.locator("form[action$='/sync/'], form[action$='/archive/']").count() == 0
    screenshot(page, "tenant-support")

    page.goto(f"{live_server.url}/tenants/")
    assert page.locator("#bulk-form").count() == 0


def test_keyboard_user_can_skip_to_the_content(page, live_server, fleet):
    _sign_in(page, live_server, Role.SUPPORT)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Skip to content"
