"""The end of consent against the emulator: the account chosen and checked, re-consent, and
what is stored (encrypted)."""

from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from common.models import AuditEvent
from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ACCOUNT_2_ID,
    TEST_ADMIN_USER_ID,
    TEST_SINGLE_ADMIN_USER_ID,
)
from tenants.docusign import docusign_client_for
from tenants.models import ConsentAttempt, Invite, Tenant, TenantAccount, TenantToken
from tenants.tests.consent_helpers import (
    MULTI,
    SINGLE,
    assert_nothing_stored,
    consent_round_trip,
    emulator_authorize,
    error_code_of,
    failures,
    portal_callback,
    portal_start,
    send_invite,
)
from tenants.tests.factories import IntegrationFactory, TenantFactory

pytestmark = pytest.mark.django_db

# --- choosing the account ----------------------------------------------------------------


def test_admin_with_several_accounts_chooses_and_the_chosen_account_is_linked(
    client, emulator_integration
):
    tenant = TenantFactory(integration=emulator_integration)
    response = consent_round_trip(client, tenant, **MULTI)

    assert response["Location"] == reverse("consent-choose-account")
    assert not TenantAccount.objects.filter(tenant=tenant).exists()  # never silently the default
    page = client.get(reverse("consent-choose-account")).content.decode()
    assert "Client One" in page
    assert "Client Two" in page

    chosen = client.post(reverse("consent-choose-account"), {"account_id": TEST_ACCOUNT_2_ID})

    assert chosen["Location"] == reverse("consent-done")
    tenant.refresh_from_db()
    assert tenant.account.account_id == TEST_ACCOUNT_2_ID  # not the default, account 1
    assert tenant.account.user_id == TEST_ADMIN_USER_ID
    assert docusign_client_for(emulator_integration).oauth.userinfo(tenant.token.access_token)
    assert ConsentAttempt.objects.get().pending_access_token == ""
    again = client.post(reverse("consent-choose-account"), {"account_id": TEST_ACCOUNT_1_ID})
    assert again.status_code == 400
    tenant.refresh_from_db()
    assert tenant.account.account_id == TEST_ACCOUNT_2_ID


def test_choosing_an_account_that_was_not_offered_is_refused_and_can_be_corrected(
    client, emulator_integration
):
    tenant = TenantFactory(integration=emulator_integration)
    consent_round_trip(client, tenant, **MULTI)

    wrong = client.post(reverse("consent-choose-account"), {"account_id": "not-an-account"})

    assert wrong.status_code == 400
    assert "Choose one of your accounts" in wrong.content.decode() or "not one of" in (
        wrong.content.decode()
    )
    assert not TenantAccount.objects.filter(tenant=tenant).exists()
    right = client.post(reverse("consent-choose-account"), {"account_id": TEST_ACCOUNT_1_ID})
    assert right.status_code == 302
    tenant.refresh_from_db()
    assert tenant.account.account_id == TEST_ACCOUNT_1_ID


def test_choose_account_page_from_another_browser_shows_nothing_to_choose(
    client, emulator_integration
):
    tenant = TenantFactory(integration=emulator_integration)
    consent_round_trip(client, tenant, **MULTI)

    other = Client().post(reverse("consent-choose-account"), {"account_id": TEST_ACCOUNT_1_ID})

    assert other.status_code == 400
    assert not TenantAccount.objects.filter(tenant=tenant).exists()


def test_an_expired_account_choice_is_refused_and_stores_nothing(client, emulator_integration):
    tenant = TenantFactory(integration=emulator_integration)
    consent_round_trip(client, tenant, **MULTI)
    ConsentAttempt.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client.post(reverse("consent-choose-account"), {"account_id": TEST_ACCOUNT_1_ID})

    assert error_code_of(response) == "expired_state"
    assert not TenantAccount.objects.filter(tenant=tenant).exists()
    assert ConsentAttempt.objects.get().pending_refresh_token == ""


def test_admin_without_any_account_is_told_so_and_nothing_is_stored(client, tenant, emulator):
    emulator.seed(
        users=[
            {
                "user_id": "aaaaaaaa-1111-4222-8333-0000000000ff",
                "email": "lonely@client.test",
                "password": "lonely-password",
                "name": "Lee Lonely",
                "memberships": [],
            }
        ]
    )

    response = consent_round_trip(
        client, tenant, email="lonely@client.test", password="lonely-password"
    )

    assert error_code_of(response) == "no_accounts"
    assert_nothing_stored(tenant)


def test_account_whose_base_uri_is_outside_the_allowed_hosts_is_refused(client, emulator_server):
    # The integration names the account server by another host name ("localhost") than the one
    # the emulator reports in base_uri ("127.0.0.1"): for the portal, a host it does not trust.
    port = urlsplit(emulator_server.url).port
    integration = IntegrationFactory(auth_base_url=f"http://localhost:{port}")
    tenant = TenantFactory(integration=integration)

    response = consent_round_trip(client, tenant, **SINGLE)

    assert error_code_of(response) == "base_uri_not_allowed"
    assert failures("base_uri_not_allowed") == 1
    assert_nothing_stored(tenant)


def test_several_accounts_all_outside_the_allowed_hosts_are_refused(client, emulator_server):
    port = urlsplit(emulator_server.url).port
    tenant = TenantFactory(integration=IntegrationFactory(auth_base_url=f"http://localhost:{port}"))

    response = consent_round_trip(client, tenant, **MULTI)

    assert error_code_of(response) == "base_uri_not_allowed"
    assert_nothing_stored(tenant)


def test_account_already_linked_to_another_tenant_is_refused(client, tenant, consented_tenant):
    consented_tenant(user_id=TEST_SINGLE_ADMIN_USER_ID, account_id=TEST_ACCOUNT_2_ID)

    response = consent_round_trip(client, tenant, **SINGLE)

    assert error_code_of(response) == "account_taken"
    assert_nothing_stored(tenant)


# --- re-consent -----------------------------------------------------------------------------


def test_reconsent_for_the_same_account_keeps_the_tenant_and_restores_it(client, consented_tenant):
    from tenants.services.status import tenant_status_set

    tenant = consented_tenant(user_id=TEST_ADMIN_USER_ID, account_id=TEST_ACCOUNT_1_ID)
    tenant_status_set(tenant=tenant, to_status=Tenant.Status.NEEDS_RECONSENT, reason="revoked")
    old_access = tenant.token.access_token

    response = consent_round_trip(
        client, tenant, token=send_invite(tenant, Invite.Kind.RECONSENT), **MULTI
    )

    # The admin has two accounts, but re-consent reconnects the linked one: nothing to choose.
    assert response["Location"] == reverse("consent-done")
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.CONSENTED
    assert tenant.account.account_id == TEST_ACCOUNT_1_ID
    assert TenantToken.objects.get(tenant=tenant).access_token != old_access
    assert Tenant.objects.count() == 1


def test_reconsent_by_a_user_without_the_linked_account_is_refused(client, consented_tenant):
    tenant = consented_tenant(user_id=TEST_ADMIN_USER_ID, account_id=TEST_ACCOUNT_1_ID)
    old_access = tenant.token.access_token

    response = consent_round_trip(
        client, tenant, token=send_invite(tenant, Invite.Kind.RECONSENT), **SINGLE
    )

    assert error_code_of(response) == "wrong_account"
    assert "already linked" in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.account.account_id == TEST_ACCOUNT_1_ID
    assert tenant.token.access_token == old_access


# --- storage --------------------------------------------------------------------------------


def test_tokens_and_verifiers_are_encrypted_in_the_database_rows(client, tenant):
    url = portal_start(client, send_invite(tenant))
    portal_callback(client, emulator_authorize(url, **SINGLE))
    token = TenantToken.objects.get(tenant=tenant)
    attempt = ConsentAttempt.objects.get()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM tenants_tenanttoken WHERE tenant_id = %s",
            [tenant.pk],
        )
        raw_access, raw_refresh = cursor.fetchone()
        cursor.execute(
            "SELECT code_verifier, state_hash FROM tenants_consentattempt WHERE id = %s",
            [attempt.pk],
        )
        raw_verifier, raw_state_hash = cursor.fetchone()

    assert raw_access
    assert raw_access != token.access_token
    assert token.access_token not in raw_access
    assert raw_refresh
    assert token.refresh_token not in raw_refresh
    assert raw_verifier != attempt.code_verifier
    assert raw_verifier.startswith("gAAAA")
    assert parse_qs(urlsplit(url).query)["state"][0] not in raw_state_hash


def test_callback_query_is_not_echoed_into_the_audit_log(client, tenant):
    location = emulator_authorize(portal_start(client, send_invite(tenant)), **SINGLE)
    query = parse_qs(urlsplit(location).query)
    portal_callback(client, location)
    client.get(reverse("consent-callback") + "?" + urlencode({"state": query["state"][0]}))

    for event in AuditEvent.objects.all():
        text = f"{event.message} {event.before} {event.after}"
        assert query["code"][0] not in text
        assert query["state"][0] not in text
