"""Consent flows and every bad input, against the emulator over HTTP."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from common.models import AuditEvent
from docusign_emulator.testing import (
    TEST_ACCOUNT_2_ID,
    TEST_SINGLE_ADMIN_USER_ID,
)
from tenants.docusign import docusign_client_for
from tenants.models import ConsentAttempt, Invite, Tenant, TenantToken
from tenants.services.consent import state_hash
from tenants.services.integrations import rsa_keypair_generate
from tenants.services.invites import INVITE_SALT, invite_token
from tenants.tests.consent_helpers import (
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

# --- the happy paths -----------------------------------------------------------------------


def test_single_account_admin_consents_and_the_tenant_is_linked(client, tenant, emulator):
    response = consent_round_trip(client, tenant, **SINGLE)

    assert response.status_code == 302
    assert response["Location"] == reverse("consent-done")
    done = client.get(response["Location"])
    assert "Client Two" in done.content.decode()
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.CONSENTED
    account = tenant.account
    assert account.account_id == TEST_ACCOUNT_2_ID
    assert account.user_id == TEST_SINGLE_ADMIN_USER_ID
    assert account.base_uri.endswith("/eu")
    assert account.scopes == "signature extended"
    # The stored token is the real one: DocuSign (the emulator) accepts it.
    info = docusign_client_for(tenant.integration).oauth.userinfo(tenant.token.access_token)
    assert info.sub == TEST_SINGLE_ADMIN_USER_ID
    assert tenant.token.refresh_token
    assert tenant.token.refresh_expires_at > timezone.now() + timedelta(days=29)
    invite = tenant.invites.get()
    assert invite.opened_at
    assert invite.completed_at
    assert tenant.status_changes.filter(to_status=Tenant.Status.CONSENTED).exists()
    actions = set(
        AuditEvent.objects.filter(target_id=str(tenant.pk)).values_list("action", flat=True)
    )
    assert {"invite.create", "invite.open", "consent.start", "consent.complete"} <= actions


def test_authorization_url_asks_for_code_with_pkce_and_extended_scope(client, tenant):
    url = portal_start(client, send_invite(tenant))
    query = parse_qs(urlsplit(url).query)
    assert query["response_type"] == ["code"]  # never the implicit grant
    assert query["scope"] == ["signature extended"]
    assert query["code_challenge_method"] == ["S256"]
    attempt = ConsentAttempt.objects.get()
    assert attempt.state_hash == state_hash(query["state"][0])
    assert query["state"][0] not in attempt.state_hash
    assert attempt.expires_at <= timezone.now() + timedelta(minutes=10)


def test_jwt_tenant_asks_for_impersonation_and_stores_a_verified_jwt_token(
    client, emulator_integration
):
    tenant = TenantFactory(integration=emulator_integration, grant_mode=Tenant.GrantMode.JWT)
    url = portal_start(client, send_invite(tenant))
    assert parse_qs(urlsplit(url).query)["scope"] == ["signature extended impersonation"]

    response = portal_callback(client, emulator_authorize(url, **SINGLE))

    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.CONSENTED
    assert tenant.account.jwt_verified_at is not None
    assert tenant.account.jwt_last_error == ""
    assert tenant.token.refresh_token == ""
    info = docusign_client_for(emulator_integration).oauth.userinfo(tenant.token.access_token)
    assert info.sub == TEST_SINGLE_ADMIN_USER_ID


def test_jwt_tenant_whose_key_docusign_does_not_know_records_the_jwt_error(client, emulator_server):
    integration = IntegrationFactory(
        auth_base_url=emulator_server.url, rsa_private_key=rsa_keypair_generate().private_pem
    )
    tenant = TenantFactory(integration=integration, grant_mode=Tenant.GrantMode.JWT)

    consent_round_trip(client, tenant, **SINGLE)

    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.ERROR
    assert "JWT" in tenant.status_reason
    assert tenant.account.jwt_verified_at is None
    assert "invalid_grant" in tenant.account.jwt_last_error
    assert tenant.token.access_token == ""


# --- state ----------------------------------------------------------------------------------


def test_double_submitted_callback_exchanges_the_code_once(client, tenant, emulator):
    location = emulator_authorize(portal_start(client, send_invite(tenant)), **SINGLE)
    emulator.reset_calls()

    first = portal_callback(client, location)
    second = portal_callback(client, location)

    assert first.status_code == 302
    assert second.status_code == 400
    assert error_code_of(second) == "reused_state"
    assert emulator.calls().get("POST /oauth/token") == 1
    assert failures("reused_state") == 1


def test_callback_with_reused_state_after_a_denial_shows_error_and_stores_nothing(client, tenant):
    location = emulator_authorize(
        portal_start(client, send_invite(tenant)), decision="deny", **SINGLE
    )
    portal_callback(client, location)
    state = parse_qs(urlsplit(location).query)["state"][0]

    response = client.get(reverse("consent-callback"), {"state": state, "code": "forged"})

    assert error_code_of(response) == "reused_state"
    assert_nothing_stored(tenant)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "missing_state"),
        ({"state": "", "code": "abc"}, "missing_state"),
        ({"state": "x" * 5000, "code": "abc"}, "bad_state"),
        ({"state": "not-a-state-we-issued", "code": "abc"}, "unknown_state"),
    ],
    ids=["missing", "empty", "oversized", "foreign"],
)
def test_callback_with_bad_state_shows_error_and_stores_nothing(client, tenant, params, code):
    portal_start(client, send_invite(tenant))

    response = client.get(reverse("consent-callback"), params)

    assert response.status_code == 400
    assert error_code_of(response) == code
    assert failures(code) == 1
    assert_nothing_stored(tenant)
    assert ConsentAttempt.objects.get().claimed_at is None


def test_callback_with_expired_state_shows_error_and_stores_nothing(client, tenant):
    location = emulator_authorize(portal_start(client, send_invite(tenant)), **SINGLE)
    ConsentAttempt.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = portal_callback(client, location)

    assert error_code_of(response) == "expired_state"
    assert ConsentAttempt.objects.get().outcome == ConsentAttempt.Outcome.FAILED
    assert_nothing_stored(tenant)


def test_callback_from_another_browser_session_is_refused_and_the_state_survives(client, tenant):
    location = emulator_authorize(portal_start(client, send_invite(tenant)), **SINGLE)

    stranger = portal_callback(Client(), location)  # no session cookie at all

    assert error_code_of(stranger) == "session_mismatch"
    assert_nothing_stored(tenant)
    # The admin's own browser can still finish.
    assert portal_callback(client, location).status_code == 302


def test_callback_with_a_state_from_another_session_is_refused(client, tenant):
    location = emulator_authorize(portal_start(client, send_invite(tenant)), **SINGLE)
    other = Client()
    other.get(reverse("consent-landing", kwargs={"token": send_invite(tenant)}))
    other.post(reverse("consent-start", kwargs={"token": invite_token(tenant.invites.first())}))

    response = portal_callback(other, location)

    assert error_code_of(response) == "session_mismatch"
    assert_nothing_stored(tenant)


# --- code -----------------------------------------------------------------------------------


def test_callback_without_code_shows_error_and_stores_nothing(client, tenant):
    location = emulator_authorize(portal_start(client, send_invite(tenant)), **SINGLE)
    state = parse_qs(urlsplit(location).query)["state"][0]

    response = client.get(reverse("consent-callback"), {"state": state})

    assert error_code_of(response) == "missing_code"
    assert_nothing_stored(tenant)


def test_callback_with_a_code_already_used_is_refused_by_docusign_and_stores_nothing(
    client, tenant, emulator
):
    first = emulator_authorize(portal_start(client, send_invite(tenant)), **SINGLE)
    used_code = parse_qs(urlsplit(first).query)["code"][0]
    assert portal_callback(client, first).status_code == 302
    before = tenant.token.access_token

    second = emulator_authorize(
        portal_start(client, send_invite(tenant, Invite.Kind.RECONSENT)), **SINGLE
    )
    state = parse_qs(urlsplit(second).query)["state"][0]
    response = client.get(reverse("consent-callback"), {"state": state, "code": used_code})

    assert error_code_of(response) == "code_rejected"
    assert TenantToken.objects.get(tenant=tenant).access_token == before


def test_callback_with_the_code_of_another_attempt_fails_pkce_and_stores_nothing(client, tenant):
    token = send_invite(tenant)
    url_a = portal_start(client, token)
    url_b = portal_start(client, token)
    code_a = parse_qs(urlsplit(emulator_authorize(url_a, **SINGLE)).query)["code"][0]
    state_b = parse_qs(urlsplit(url_b).query)["state"][0]

    response = client.get(reverse("consent-callback"), {"state": state_b, "code": code_a})

    assert error_code_of(response) == "code_rejected"
    assert_nothing_stored(tenant)


# --- errors from DocuSign -------------------------------------------------------------------


def test_denied_consent_explains_what_happened_and_stores_nothing(client, tenant):
    location = emulator_authorize(
        portal_start(client, send_invite(tenant)), decision="deny", **SINGLE
    )

    response = portal_callback(client, location)

    assert response.status_code == 400
    assert error_code_of(response) == "access_denied"
    assert "Allow access" in response.content.decode()
    assert ConsentAttempt.objects.get().outcome == ConsentAttempt.Outcome.FAILED
    assert failures("access_denied") == 1
    assert_nothing_stored(tenant)


def test_error_without_state_is_explained_and_html_in_the_description_is_escaped(client, tenant):
    response = client.get(
        reverse("consent-callback"),
        {"error": "server_error", "error_description": "<script>alert('x')</script>"},
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert error_code_of(response) == "docusign_error"
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page
    assert failures("docusign_error") == 1


def test_error_with_state_marks_the_attempt_failed_and_escapes_the_description(client, tenant):
    url = portal_start(client, send_invite(tenant))
    state = parse_qs(urlsplit(url).query)["state"][0]

    response = client.get(
        reverse("consent-callback"),
        {"state": state, "error": "invalid_scope", "error_description": "<b>bad</b> scope"},
    )

    assert error_code_of(response) == "docusign_error"
    assert "<b>bad</b>" not in response.content.decode()
    assert ConsentAttempt.objects.get().outcome == ConsentAttempt.Outcome.FAILED
    assert_nothing_stored(tenant)


@pytest.mark.parametrize(("kind", "status"), [("status", 503), ("html", 200), ("timeout", 200)])
def test_token_endpoint_failures_show_a_retry_page_and_store_nothing(
    client, tenant, emulator, settings, kind, status
):
    settings.DOCUSIGN_READ_TIMEOUT_S = 0.5
    location = emulator_authorize(portal_start(client, send_invite(tenant)), **SINGLE)
    emulator.fault("POST /oauth/token", kind, status=status, count=1, delay_s=2)

    response = portal_callback(client, location)

    assert error_code_of(response) == "docusign_unavailable"
    assert_nothing_stored(tenant)
    assert failures("docusign_unavailable") == 1


def test_token_endpoint_refusing_the_client_secret_says_the_partner_must_act(
    client, emulator_server
):
    integration = IntegrationFactory(auth_base_url=emulator_server.url, secret_key="wrong")
    tenant = TenantFactory(integration=integration)

    response = consent_round_trip(client, tenant, **SINGLE)

    assert error_code_of(response) in ("token_error", "code_rejected")
    assert_nothing_stored(tenant)


def test_userinfo_failure_shows_a_retry_page_and_stores_nothing(client, tenant, emulator):
    location = emulator_authorize(portal_start(client, send_invite(tenant)), **SINGLE)
    emulator.fault("GET /oauth/userinfo", "status", status=503, count=5)

    response = portal_callback(client, location)

    assert error_code_of(response) == "userinfo_failed"
    assert_nothing_stored(tenant)


# --- invite links ---------------------------------------------------------------------------


def test_invite_for_another_tenant_is_refused(client, tenant, emulator_integration):
    other = TenantFactory(integration=emulator_integration)
    send_invite(tenant)
    forged = signing.Signer(salt=INVITE_SALT).sign_object(
        {"t": other.pk, "n": tenant.invites.get().nonce}
    )

    response = client.get(reverse("consent-landing", kwargs={"token": forged}))

    assert response.status_code == 400
    assert AuditEvent.objects.filter(action="invite.rejected").count() == 1


def test_tampered_invite_link_is_refused(client, tenant):
    token = send_invite(tenant)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")

    for response in (
        client.get(reverse("consent-landing", kwargs={"token": tampered})),
        client.post(reverse("consent-start", kwargs={"token": tampered})),
    ):
        assert response.status_code == 400
        assert "incomplete or has been changed" in response.content.decode()
    assert not ConsentAttempt.objects.exists()


def test_expired_invite_link_is_refused(client, tenant):
    token = send_invite(tenant)
    Invite.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    response = client.get(reverse("consent-landing", kwargs={"token": token}))

    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_resent_invite_makes_the_old_link_invalid(client, tenant, mailoutbox):
    old = send_invite(tenant)
    new = send_invite(tenant)

    assert client.get(reverse("consent-landing", kwargs={"token": old})).status_code == 410
    assert client.get(reverse("consent-landing", kwargs={"token": new})).status_code == 200
    assert len(mailoutbox) == 2
    assert new in mailoutbox[1].body


def test_landing_page_names_the_partner_and_explains_each_scope(client, tenant, settings):
    settings.PARTNER_NAME = "Globex Integrations"
    page = client.get(reverse("consent-landing", kwargs={"token": send_invite(tenant)}))

    text = page.content.decode()
    assert "Globex Integrations" in text
    assert "signature" in text
    assert "extended" in text
    assert "impersonation" not in text
    assert "Continue to DocuSign" in text
    assert Invite.objects.get().opened_at is not None
