"""Bringing existing clients in (refresh tokens, JWT user ids), each verified with the emulator;
every bad row reported with what to do, nothing half-imported."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ACCOUNT_2_ID,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_ORG_SEED,
    TEST_ORGANIZATION_ID,
    TEST_SINGLE_ADMIN_USER_ID,
    TEST_SYSTEM_USER_ID,
)
from tenants.docusign import docusign_client_for
from tenants.models import Integration, Tenant, TenantAccount, TenantToken
from tenants.services.tenant_import import tenant_import_existing_csv
from tenants.tests.factories import IntegrationFactory, TenantAccountFactory
from tenants.tests.token_helpers import (
    SPOILED_REFRESH_TOKENS,
    refresh_token_for,
    spoiled_refresh_token,
)

pytestmark = pytest.mark.django_db
HEADER = "name,slug,admin_email,grant_mode,integration,account_id,refresh_token,user_id\n"


def csv_of(*rows: str) -> bytes:
    return (HEADER + "\n".join(rows) + "\n").encode()


def run(integration, *rows: str):
    return tenant_import_existing_csv(data=csv_of(*rows), default_integration=integration)


def acg_row(slug: str, token: str, account_id: str = "") -> str:
    return f"{slug.title()},{slug},admin@{slug}.test,acg,,{account_id},{token},"


def test_a_refresh_token_is_verified_and_the_client_counts_as_consented(
    emulator, emulator_integration
):
    token = refresh_token_for(emulator)

    outcome = run(emulator_integration, acg_row("acme", token))

    assert outcome.errors == []
    tenant = Tenant.objects.get(slug="acme")
    assert tenant.status == Tenant.Status.CONSENTED
    account = tenant.account
    assert account.account_id == TEST_ACCOUNT_2_ID  # the user's only account
    assert account.user_id == TEST_SINGLE_ADMIN_USER_ID
    assert account.consent_level == TenantAccount.ConsentLevel.IMPORTED
    stored = TenantToken.objects.get(tenant=tenant)
    assert stored.refresh_token
    assert stored.refresh_token != token  # the rotated one is kept
    info = docusign_client_for(emulator_integration).oauth.userinfo(stored.access_token)
    assert info.sub == TEST_SINGLE_ADMIN_USER_ID


def test_jwt_and_organization_rows_are_verified_by_a_jwt_grant(emulator, emulator_integration):
    emulator.grant_consent(TEST_ADMIN_USER_ID, TEST_CLIENT_ID)
    emulator.seed(TEST_ORG_SEED)
    emulator.grant_org_consent(TEST_ORGANIZATION_ID, TEST_CLIENT_ID)

    outcome = run(
        emulator_integration,
        f"Two,two,a@two.test,jwt,,{TEST_ACCOUNT_2_ID},,{TEST_ADMIN_USER_ID}",
        f"One,one,a@one.test,org_jwt,,{TEST_ACCOUNT_1_ID},,{TEST_SYSTEM_USER_ID}",
    )

    assert outcome.errors == []
    two = TenantAccount.objects.get(tenant__slug="two")
    assert (two.account_id, two.user_id) == (TEST_ACCOUNT_2_ID, TEST_ADMIN_USER_ID)
    one = TenantAccount.objects.get(tenant__slug="one")
    assert (one.account_id, one.user_id) == (TEST_ACCOUNT_1_ID, TEST_SYSTEM_USER_ID)
    assert TenantToken.objects.get(tenant__slug="one").refresh_token == ""


@pytest.mark.parametrize(("spoil", "words"), SPOILED_REFRESH_TOKENS)
def test_a_refused_refresh_token_is_reported_and_the_good_rows_still_count(
    emulator, emulator_integration, spoil, words
):
    good = refresh_token_for(emulator)
    bad = spoiled_refresh_token(emulator, spoil)

    outcome = run(
        emulator_integration, acg_row("bad", bad, TEST_ACCOUNT_1_ID), acg_row("good", good)
    )

    assert [error.line for error in outcome.errors] == [2]
    assert words in outcome.errors[0].reason
    assert [t.slug for t in outcome.imported] == ["good"]
    assert not Tenant.objects.filter(slug="bad").exists()


def test_an_account_whose_base_uri_is_not_allowed_stores_nothing(emulator, emulator_server):
    integration = IntegrationFactory(
        environment=Integration.Environment.DEMO, auth_base_url=emulator_server.url
    )
    outcome = run(integration, acg_row("acme", refresh_token_for(emulator)))
    assert "not an allowed host" in outcome.errors[0].reason
    assert not Tenant.objects.exists()
    assert not TenantToken.objects.exists()


def test_a_user_id_that_does_not_exist_is_reported(emulator, emulator_integration):
    outcome = run(emulator_integration, "X,x,a@x.test,jwt,,,,0badf00d-1111-4222-8333-000000000099")
    assert "no user with this id" in outcome.errors[0].reason
    assert not Tenant.objects.exists()


def test_a_user_with_several_accounts_needs_the_account_id(emulator, emulator_integration):
    token = refresh_token_for(emulator, user_id=TEST_ADMIN_USER_ID)
    outcome = run(emulator_integration, acg_row("acme", token))
    assert "put the one to link in account_id" in outcome.errors[0].reason
    assert not Tenant.objects.exists()


def test_malformed_rows_stop_everything_before_any_docusign_call(emulator, emulator_integration):
    TenantAccountFactory(account_id=TEST_ACCOUNT_1_ID)
    good = refresh_token_for(emulator)
    emulator.reset_calls()

    outcome = run(
        emulator_integration,
        acg_row("fine", good),
        "No token,no-token,a@b.test,acg,,,,",
        "Bad id,bad-id,a@b.test,jwt,,,,hr-dept",
        acg_row("fine", good),
        f"Taken,taken,a@b.test,acg,,{TEST_ACCOUNT_1_ID},{good},",
        "Mode,mode,a@b.test,implicit,,,x,",
    )

    reasons = {error.line: error.reason for error in outcome.errors}
    assert "refresh_token: an acg row needs" in reasons[3]
    assert "user_id: a JWT row needs the DocuSign API user id" in reasons[4]
    assert "also used on line 2" in reasons[5]
    assert "already linked" in reasons[6]
    assert "grant_mode" in reasons[7]
    assert not outcome.imported
    assert not Tenant.objects.filter(slug="fine").exists()
    assert not {k: v for k, v in emulator.calls().items() if "oauth" in k and v}


def test_staff_upload_shows_what_was_imported_and_what_was_not(
    emulator, emulator_integration, staff_client
):
    good = refresh_token_for(emulator)
    bad = refresh_token_for(emulator, user_id=TEST_ADMIN_USER_ID)
    emulator.revoke_tokens(refresh_token=bad)
    upload = SimpleUploadedFile(
        "clients.csv", csv_of(acg_row("good", good), acg_row("bad", bad, TEST_ACCOUNT_1_ID))
    )

    response = staff_client().post(
        reverse("tenant-import-existing"), {"file": upload, "integration": emulator_integration.pk}
    )

    assert response.status_code == 400
    text = response.content.decode()
    assert "Line 3:" in text
    assert "Good" in text
    assert good not in text
    assert bad not in text
