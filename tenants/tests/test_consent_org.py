"""Organization admin consent (JWT) and a named system user, against the emulator over HTTP."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from common.models import AuditEvent
from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ADMIN_EMAIL,
    TEST_ADMIN_PASSWORD,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_NON_ADMIN_EMAIL,
    TEST_NON_ADMIN_PASSWORD,
    TEST_ORG_SEED,
    TEST_ORGANIZATION_ID,
    TEST_OUTSIDER_USER_ID,
    TEST_SINGLE_ADMIN_EMAIL,
    TEST_SINGLE_ADMIN_PASSWORD,
    TEST_SYSTEM_USER_EMAIL,
    TEST_SYSTEM_USER_ID,
)
from tenants.docusign import docusign_client_for
from tenants.models import ConsentAttempt, Tenant, TenantAccount, TenantToken
from tenants.selectors.tenants import tenant_consent_panel
from tenants.services.tokens import TokenReconsentRequired, token_get_valid
from tenants.tests.consent_helpers import (
    emulator_authorize,
    error_code_of,
    portal_callback,
    portal_start,
    send_invite,
)
from tenants.tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

ORG_ADMIN = {"email": TEST_ADMIN_EMAIL, "password": TEST_ADMIN_PASSWORD}
UNKNOWN_USER_ID = "0badf00d-1111-4222-8333-000000000099"


@pytest.fixture
def org(emulator):
    emulator.seed(TEST_ORG_SEED)
    return emulator


@pytest.fixture
def tenant(emulator_integration, org):
    return TenantFactory(
        integration=emulator_integration,
        grant_mode=Tenant.GrantMode.ORG_ADMIN,
        admin_email=TEST_ADMIN_EMAIL,
    )


def assert_nothing_stored(tenant: Tenant) -> None:
    assert not TenantAccount.objects.filter(tenant=tenant).exists()
    assert not TenantToken.objects.filter(tenant=tenant).exists()


def org_round_trip(client, tenant, *, system_user_id="", login=ORG_ADMIN):
    url = portal_start(client, send_invite(tenant), system_user_id=system_user_id)
    return portal_callback(client, emulator_authorize(url, **login))


def test_invite_email_explains_organization_consent(tenant, mailoutbox):
    send_invite(tenant)
    [mail] = mailoutbox
    assert "administrator of your DocuSign organization" in mail.body
    assert "claimed your company's email domain" in mail.body


def test_landing_page_explains_the_prerequisites_and_asks_for_the_system_user(client, tenant):
    page = client.get(reverse("consent-landing", kwargs={"token": send_invite(tenant)}))
    text = page.content.decode()
    assert "organization administrator" in text
    assert "claimed" in text
    assert 'name="system_user_id"' in text


def test_org_admin_consent_links_the_account_and_impersonates_the_named_system_user(
    client, tenant, staff_client
):
    url = portal_start(client, send_invite(tenant), system_user_id=TEST_SYSTEM_USER_ID)
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == ["openid"]
    assert query["admin_consent_scope"] == ["signature impersonation"]

    response = portal_callback(client, emulator_authorize(url, **ORG_ADMIN))

    assert response.status_code == 302, response.content[:400]
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.CONSENTED
    account = tenant.account
    assert account.account_id == TEST_ACCOUNT_1_ID
    assert account.user_id == TEST_SYSTEM_USER_ID
    assert account.consent_level == TenantAccount.ConsentLevel.ORGANIZATION
    assert account.granted_by_user_id == TEST_ADMIN_USER_ID
    assert account.granted_by_email == TEST_ADMIN_EMAIL
    assert account.jwt_verified_at is not None
    info = docusign_client_for(tenant.integration).oauth.userinfo(tenant.token.access_token)
    assert info.sub == TEST_SYSTEM_USER_ID
    assert tenant.token.refresh_token == ""
    panel = tenant_consent_panel(tenant=tenant, viewer=None)
    assert panel["impersonation"] == (
        f"Impersonates HR Dept <{TEST_SYSTEM_USER_EMAIL}>, consent granted by "
        f"{TEST_ADMIN_EMAIL} (organization)"
    )
    page = staff_client().get(reverse("tenant-edit", kwargs={"tenant_id": tenant.pk}))
    assert "Impersonates HR Dept" in page.content.decode()


def test_without_a_named_user_the_granting_admin_is_impersonated_after_choosing_the_account(
    client, tenant
):
    response = org_round_trip(client, tenant)
    assert response["Location"] == reverse("consent-choose-account")  # the admin has two
    chosen = client.post(reverse("consent-choose-account"), {"account_id": TEST_ACCOUNT_1_ID})
    assert chosen.status_code == 302, chosen.content[:400]
    account = TenantAccount.objects.get(tenant=tenant)
    assert account.user_id == TEST_ADMIN_USER_ID
    assert account.consent_level == TenantAccount.ConsentLevel.ORGANIZATION
    assert account.granted_by_email == TEST_ADMIN_EMAIL


def test_redirect_without_a_code_still_links_through_the_named_system_user(client, tenant, org):
    org.config(admin_consent_redirect="state_only")
    response = org_round_trip(client, tenant, system_user_id=TEST_SYSTEM_USER_ID)
    assert response.status_code == 302, response.content[:400]
    account = TenantAccount.objects.get(tenant=tenant)
    assert account.user_id == TEST_SYSTEM_USER_ID
    assert account.granted_by_user_id == ""
    panel = tenant_consent_panel(tenant=tenant, viewer=None)
    assert (
        "consent granted by an organization administrator (organization)" in panel["impersonation"]
    )


def test_redirect_without_a_code_and_no_named_user_asks_for_one(client, tenant, org):
    org.config(admin_consent_redirect="state_only")
    response = org_round_trip(client, tenant)
    assert response.status_code == 400
    assert error_code_of(response) == "system_user_required"
    assert "API user id" in response.content.decode()
    assert_nothing_stored(tenant)


def test_a_user_who_is_not_an_org_admin_is_told_who_must_grant_it(client, tenant):
    login = {"email": TEST_NON_ADMIN_EMAIL, "password": TEST_NON_ADMIN_PASSWORD}
    response = org_round_trip(client, tenant, login=login)
    assert error_code_of(response) == "org_admin_required"
    assert "organization administrator" in response.content.decode()
    assert_nothing_stored(tenant)


def test_an_organization_without_a_claimed_domain_is_told_to_claim_one(client, tenant):
    login = {"email": TEST_SINGLE_ADMIN_EMAIL, "password": TEST_SINGLE_ADMIN_PASSWORD}
    response = org_round_trip(client, tenant, login=login)
    assert error_code_of(response) == "no_claimed_domain"
    assert "Domains" in response.content.decode()
    assert_nothing_stored(tenant)


def test_a_system_user_outside_the_claimed_domains_is_refused_and_nothing_stored(client, tenant):
    response = org_round_trip(client, tenant, system_user_id=TEST_OUTSIDER_USER_ID)
    assert response.status_code == 400
    assert error_code_of(response) == "system_user_no_consent"
    assert "claimed" in response.content.decode()
    assert_nothing_stored(tenant)
    assert ConsentAttempt.objects.get().outcome == ConsentAttempt.Outcome.FAILED


def test_a_system_user_id_that_does_not_exist_is_refused(client, tenant):
    response = org_round_trip(client, tenant, system_user_id=UNKNOWN_USER_ID)
    assert error_code_of(response) == "system_user_not_found"
    assert_nothing_stored(tenant)


def test_a_malformed_system_user_id_is_a_field_error_before_docusign(client, tenant):
    token = send_invite(tenant)
    response = client.post(
        reverse("consent-start", kwargs={"token": token}), {"system_user_id": "hr-dept"}
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "API user id" in text
    assert 'value="hr-dept"' in text
    assert not ConsentAttempt.objects.exists()


def test_revoking_the_organization_grant_is_detected_like_individual_consent(client, tenant, org):
    org_round_trip(client, tenant, system_user_id=TEST_SYSTEM_USER_ID)
    org.revoke_org_consent(TEST_ORGANIZATION_ID, TEST_CLIENT_ID)
    TenantToken.objects.filter(tenant=tenant).update(
        access_expires_at=timezone.now() - timedelta(minutes=1)
    )

    with pytest.raises(TokenReconsentRequired) as caught:
        token_get_valid(tenant_id=tenant.pk)

    assert caught.value.code == "consent_required"
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.NEEDS_RECONSENT
    assert AuditEvent.objects.filter(action="consent.complete", target_id=str(tenant.pk)).exists()
