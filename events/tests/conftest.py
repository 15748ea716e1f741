import pytest

from docusign_emulator.testing import TEST_ACCOUNT_1_ID
from events.models import PartnerHmacKey
from events.tests.helpers import KEY_OLD
from tenants.tests.factories import IntegrationFactory, TenantAccountFactory


@pytest.fixture
def linked_tenant(db):
    """A tenant whose account is TEST_ACCOUNT_1_ID, on an integration holding KEY_OLD (no
    emulator needed: for tests that post crafted messages)."""
    account = TenantAccountFactory(
        tenant__integration=IntegrationFactory(), account_id=TEST_ACCOUNT_1_ID
    )
    PartnerHmacKey.objects.create(
        integration=account.tenant.integration, label="old", secret=KEY_OLD, created_by_label="t"
    )
    return account.tenant
