"""Staff name the system user a JWT tenant impersonates: verified by DocuSign before switching."""

import pytest
from django.urls import reverse

from common.models import AuditEvent
from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_ORG_SEED,
    TEST_ORGANIZATION_ID,
    TEST_OUTSIDER_USER_ID,
    TEST_SINGLE_ADMIN_USER_ID,
    TEST_SYSTEM_USER_EMAIL,
    TEST_SYSTEM_USER_ID,
)
from tenants.docusign import docusign_client_for
from tenants.models import TenantAccount, TenantToken
from tenants.services.system_user import SystemUserError, tenant_system_user_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(consented_tenant, emulator):
    emulator.seed(TEST_ORG_SEED)
    return consented_tenant(
        user_id=TEST_ADMIN_USER_ID, account_id=TEST_ACCOUNT_1_ID, grant_mode="jwt"
    )


def unchanged(tenant, token_before: str) -> bool:
    account = TenantAccount.objects.get(tenant=tenant)
    return (
        account.user_id == TEST_ADMIN_USER_ID
        and TenantToken.objects.get(tenant=tenant).access_token == token_before
    )


def test_switching_verifies_the_new_user_then_stores_its_token(tenant, emulator, make_staff):
    emulator.grant_org_consent(TEST_ORGANIZATION_ID, TEST_CLIENT_ID)
    generation = TenantToken.objects.get(tenant=tenant).generation

    account = tenant_system_user_set(
        tenant=tenant, user_id=TEST_SYSTEM_USER_ID.upper(), actor=make_staff()
    )

    assert account.user_id == TEST_SYSTEM_USER_ID
    assert account.user_email == TEST_SYSTEM_USER_EMAIL
    token = TenantToken.objects.get(tenant=tenant)
    assert token.generation == generation + 1
    info = docusign_client_for(tenant.integration).oauth.userinfo(token.access_token)
    assert info.sub == TEST_SYSTEM_USER_ID
    event = AuditEvent.objects.get(action="tenant.system_user.set")
    assert TEST_SYSTEM_USER_EMAIL in event.message
    assert token.access_token not in str(event.after)


@pytest.mark.parametrize(
    ("user_id", "code", "words"),
    [
        ("hr-dept", "bad_user_id", "GUID"),
        ("0badf00d-1111-4222-8333-000000000099", "system_user_not_found", "API user id"),
        (TEST_OUTSIDER_USER_ID, "system_user_no_consent", "claimed domains"),
    ],
)
def test_a_user_that_cannot_be_impersonated_changes_nothing(tenant, emulator, user_id, code, words):
    emulator.grant_org_consent(TEST_ORGANIZATION_ID, TEST_CLIENT_ID)
    before = TenantToken.objects.get(tenant=tenant).access_token

    with pytest.raises(SystemUserError) as caught:
        tenant_system_user_set(tenant=tenant, user_id=user_id)

    assert caught.value.code == code
    assert words in caught.value.message
    assert unchanged(tenant, before)


def test_a_user_of_another_account_is_refused(tenant, emulator):
    emulator.grant_consent(TEST_SINGLE_ADMIN_USER_ID, TEST_CLIENT_ID)
    before = TenantToken.objects.get(tenant=tenant).access_token

    with pytest.raises(SystemUserError) as caught:
        tenant_system_user_set(tenant=tenant, user_id=TEST_SINGLE_ADMIN_USER_ID)

    assert caught.value.code == "system_user_not_member"
    assert unchanged(tenant, before)


def test_an_authorization_code_tenant_has_no_system_user(consented_tenant):
    tenant = consented_tenant()
    with pytest.raises(SystemUserError) as caught:
        tenant_system_user_set(tenant=tenant, user_id=TEST_SYSTEM_USER_ID)
    assert caught.value.code == "not_jwt"


def test_staff_page_switches_and_reports_a_refusal(tenant, emulator, staff_client):
    client = staff_client()
    url = reverse("tenant-system-user", kwargs={"tenant_id": tenant.pk})
    page = reverse("tenant-edit", kwargs={"tenant_id": tenant.pk})

    refused = client.post(url, {"user_id": TEST_SYSTEM_USER_ID, "next": page}, follow=True)
    assert "The system user was not changed" in refused.content.decode()
    assert TenantAccount.objects.get(tenant=tenant).user_id == TEST_ADMIN_USER_ID

    emulator.grant_org_consent(TEST_ORGANIZATION_ID, TEST_CLIENT_ID)
    done = client.post(url, {"user_id": TEST_SYSTEM_USER_ID, "next": page}, follow=True)
    text = done.content.decode()
    assert f"now acts as {TEST_SYSTEM_USER_EMAIL}" in text
    assert "Impersonates HR Dept" in text


def test_support_staff_cannot_switch(tenant, staff_client):
    client = staff_client("support")
    url = reverse("tenant-system-user", kwargs={"tenant_id": tenant.pk})
    assert client.post(url, {"user_id": TEST_SYSTEM_USER_ID}).status_code == 403
