"""The shared fixtures other areas build on hold real, working credentials."""

import pytest

from docusign_emulator.testing import TEST_ACCOUNT_2_ID, TEST_SINGLE_ADMIN_USER_ID
from tenants.docusign import docusign_client_for
from tenants.models import Tenant


@pytest.mark.django_db
def test_consented_tenant_holds_tokens_the_emulator_accepts(consented_tenant):
    tenant = consented_tenant()
    info = docusign_client_for(tenant.integration).oauth.userinfo(tenant.token.access_token)
    assert info.sub == tenant.account.user_id
    assert tenant.account.account_id in {a.account_id for a in info.accounts}
    assert tenant.token.refresh_token
    assert tenant.status == Tenant.Status.CONSENTED


@pytest.mark.django_db
def test_consented_tenant_in_jwt_mode_holds_a_jwt_access_token(consented_tenant):
    tenant = consented_tenant(
        user_id=TEST_SINGLE_ADMIN_USER_ID, account_id=TEST_ACCOUNT_2_ID, grant_mode="jwt"
    )
    info = docusign_client_for(tenant.integration).oauth.userinfo(tenant.token.access_token)
    assert info.sub == TEST_SINGLE_ADMIN_USER_ID
    assert tenant.token.refresh_token == ""
    assert tenant.account.jwt_verified_at is not None


def test_docusign_client_is_shared_per_auth_host(emulator_integration):
    from tenants.tests.factories import IntegrationFactory

    other = IntegrationFactory.build(auth_base_url=emulator_integration.auth_base_url + "/")
    assert docusign_client_for(emulator_integration) is docusign_client_for(other)
