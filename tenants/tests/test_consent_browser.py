"""End to end in a real browser: staff registers a tenant and sends the invite; the client admin
opens it in another browser context, signs in at DocuSign (the emulator), picks an account and
lands back on the portal; the tenant page shows the linked account."""

from accounts.roles import Role
from docusign_emulator.testing import (
    TEST_ACCOUNT_2_ID,
    TEST_ADMIN_EMAIL,
    TEST_ADMIN_PASSWORD,
)
from tenants.models import Tenant
from tenants.tests.consent_helpers import consent_callback_to
from testing.browser import page_open, requires_chromium, screenshot, staff_signed_in_page

pytestmark = requires_chromium


def shot(page, name: str) -> None:
    screenshot(page, f"consent-{name}")


def test_staff_invites_and_client_admin_consents_in_a_browser(
    live_server, settings, emulator, emulator_integration, make_staff, browser
):
    consent_callback_to(
        live_server, settings=settings, emulator=emulator, integration=emulator_integration
    )
    staff = make_staff(Role.OPERATOR)

    # Staff signs in and registers the tenant.
    staff_page = staff_signed_in_page(browser, live_server, staff)
    staff_page.goto(f"{live_server.url}/tenants/new/")
    staff_page.fill("input[name=name]", "Client Two Ltd")
    staff_page.fill("input[name=slug]", "client-two")
    staff_page.fill("input[name=admin_email]", TEST_ADMIN_EMAIL)
    staff_page.select_option("select[name=integration]", str(emulator_integration.pk))
    shot(staff_page, "1-register")
    staff_page.click("button:has-text('Register tenant')")
    staff_page.wait_for_load_state()
    tenant = Tenant.objects.get(slug="client-two")
    assert staff_page.url.rstrip("/").endswith(f"/tenants/{tenant.pk}")

    # Staff sends the invite from the consent panel and copies the link.
    staff_page.click("form[action$='/invite/'] button")
    staff_page.wait_for_load_state()
    link = staff_page.input_value("input[data-invite-link]")
    assert link.startswith(f"{live_server.url}/consent/")
    shot(staff_page, "2-invited")

    # The client admin, in a browser of their own, opens the invite.
    admin_page = page_open(browser)
    admin_page.goto(link)
    assert "Continue to DocuSign" in admin_page.content()
    shot(admin_page, "3-landing")
    admin_page.click("button:has-text('Continue to DocuSign')")
    admin_page.wait_for_selector("input[name=email]")
    assert admin_page.url.startswith(emulator.url)
    admin_page.fill("input[name=email]", TEST_ADMIN_EMAIL)
    admin_page.fill("input[name=password]", TEST_ADMIN_PASSWORD)
    shot(admin_page, "4-docusign-sign-in")
    admin_page.click("button:has-text('Sign in')")
    admin_page.wait_for_selector("button[name=decision][value=allow]")
    shot(admin_page, "5-docusign-consent")
    admin_page.click("button[name=decision][value=allow]")

    # Back on the portal: this admin has two accounts and must choose.
    admin_page.wait_for_selector("input[name=account_id]")
    assert admin_page.url.startswith(f"{live_server.url}/consent/choose-account/")
    admin_page.check(f"input[name=account_id][value='{TEST_ACCOUNT_2_ID}']")
    shot(admin_page, "6-choose-account")
    admin_page.click("button:has-text('Connect this account')")
    admin_page.wait_for_selector("text=the connection is done")
    assert TEST_ACCOUNT_2_ID in admin_page.content()
    shot(admin_page, "7-done")

    # Staff sees the tenant consented, with the chosen account.
    staff_page.reload()
    panel = staff_page.locator("section[aria-labelledby^='consent-panel']")
    assert panel.locator("[data-status='consented']").count() == 1
    assert TEST_ACCOUNT_2_ID in panel.inner_text()
    shot(staff_page, "8-tenant-consented")
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.CONSENTED
    assert tenant.account.account_id == TEST_ACCOUNT_2_ID
