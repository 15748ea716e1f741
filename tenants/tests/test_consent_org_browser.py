"""End to end in a real browser: an organization admin opens the invite of an "organization admin
consent" tenant, reads the prerequisites, names the system user, grants consent for the
organization at DocuSign (the emulator) and lands back on the portal; the tenant page says who is
impersonated and who granted it."""

from accounts.roles import Role
from docusign_emulator.testing import (
    TEST_ADMIN_EMAIL,
    TEST_ADMIN_PASSWORD,
    TEST_ORG_SEED,
    TEST_SYSTEM_USER_EMAIL,
    TEST_SYSTEM_USER_ID,
)
from tenants.models import Tenant, TenantAccount
from tenants.tests.consent_helpers import consent_callback_to, send_invite
from tenants.tests.factories import TenantFactory
from testing.browser import page_open, requires_chromium, screenshot, staff_signed_in_page

pytestmark = requires_chromium


def test_org_admin_grants_consent_for_the_organization_in_a_browser(
    live_server, settings, emulator, emulator_integration, make_staff, browser
):
    consent_callback_to(
        live_server, settings=settings, emulator=emulator, integration=emulator_integration
    )
    emulator.seed(TEST_ORG_SEED)
    tenant = TenantFactory(
        integration=emulator_integration,
        grant_mode=Tenant.GrantMode.ORG_ADMIN,
        admin_email=TEST_ADMIN_EMAIL,
    )
    link = f"{live_server.url}/consent/{send_invite(tenant)}/"

    page = page_open(browser)
    page.goto(link)
    prerequisites = page.locator("[data-org-prerequisites]")
    assert "organization administrator" in prerequisites.inner_text()
    assert "claimed" in prerequisites.inner_text()
    # A malformed id is refused on the page, before DocuSign.
    page.fill("input[name=system_user_id]", "HR Dept")
    page.click("button:has-text('Continue to DocuSign')")
    page.wait_for_selector("#system_user_error")
    assert "API user id" in page.inner_text("#system_user_error")
    page.fill("input[name=system_user_id]", TEST_SYSTEM_USER_ID)
    screenshot(page, "consent-org-1-landing")
    page.click("button:has-text('Continue to DocuSign')")

    page.wait_for_selector("input[name=email]")
    assert page.url.startswith(emulator.url)
    page.fill("input[name=email]", TEST_ADMIN_EMAIL)
    page.fill("input[name=password]", TEST_ADMIN_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_selector("button[name=decision][value=allow]")
    assert "client.test" in page.inner_text(".domains")
    screenshot(page, "consent-org-2-docusign-admin-consent")
    page.click("button[name=decision][value=allow]")
    page.wait_for_selector("text=the connection is done")
    screenshot(page, "consent-org-3-done")

    account = TenantAccount.objects.get(tenant=tenant)
    assert account.user_id == TEST_SYSTEM_USER_ID
    assert account.consent_level == TenantAccount.ConsentLevel.ORGANIZATION

    staff = make_staff(Role.OPERATOR)
    staff_page = staff_signed_in_page(browser, live_server, staff)
    staff_page.goto(f"{live_server.url}/tenants/{tenant.pk}/edit/")
    line = staff_page.inner_text("[data-impersonation]")
    assert f"Impersonates HR Dept <{TEST_SYSTEM_USER_EMAIL}>" in line
    assert f"consent granted by {TEST_ADMIN_EMAIL} (organization)" in line
    screenshot(staff_page, "consent-org-4-tenant-page")
