"""Failed refreshes against the emulator: transient ones are counted and retried, terminal ones
flag the tenant for re-consent once, configuration problems put it in error; a success recovers."""

import pytest
from django.core import mail

from common.models import AuditEvent
from docusign_emulator.testing import TEST_ACCOUNT_2_ID, TEST_CLIENT_ID, TEST_SINGLE_ADMIN_USER_ID
from tenants.models import Tenant, TenantStatusChange, TenantToken
from tenants.services.token_failures import token_refresh_gave_up
from tenants.services.tokens import (
    TokenReconsentRequired,
    TokenTemporarilyUnavailable,
    TokenUnavailable,
    token_get_valid,
    token_refresh,
)
from tenants.tests.token_helpers import JWT, expire_in_portal, token_calls

pytestmark = pytest.mark.usefixtures("staff_alerts")


@pytest.mark.django_db
def test_invalid_grant_flags_needs_reconsent_after_one_call_and_stops_calling(
    consented_tenant, strict, django_capture_on_commit_callbacks
):
    tenant = consented_tenant()
    strict.revoke_tokens(refresh_token=tenant.token.refresh_token)
    expire_in_portal(tenant)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(TokenReconsentRequired):
        token_get_valid(tenant_id=tenant.pk)

    tenant.refresh_from_db()
    row = TenantToken.objects.get(tenant=tenant)
    assert token_calls(strict) == 1
    assert tenant.status == Tenant.Status.NEEDS_RECONSENT
    assert row.last_error_code == "invalid_refresh_token"
    assert row.failure_count == 1
    assert AuditEvent.objects.filter(
        action="token.reconsent_needed", target_id=str(tenant.pk)
    ).exists()
    assert [m.to for m in mail.outbox] == [["ops@partner.test"]]
    assert tenant.name in mail.outbox[0].subject
    assert row.refresh_token not in mail.outbox[0].body

    # Asking again (a web request, a retried task, the force button) calls nobody, alerts nobody.
    for call in (
        lambda: token_get_valid(tenant_id=tenant.pk),
        lambda: token_refresh(tenant_id=tenant.pk),
        lambda: token_refresh(tenant_id=tenant.pk, force=True),
    ):
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(TokenReconsentRequired),
        ):
            call()
    assert token_calls(strict) == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_transient_errors_are_counted_but_do_not_flag_the_tenant(consented_tenant, strict):
    tenant = consented_tenant()
    expire_in_portal(tenant)
    strict.fault("POST /oauth/token", status=503, count=2)

    for _ in range(2):
        with pytest.raises(TokenTemporarilyUnavailable) as caught:
            token_get_valid(tenant_id=tenant.pk)
    assert caught.value.code == "temporarily_unavailable"
    row = TenantToken.objects.get(tenant=tenant)
    tenant.refresh_from_db()
    assert (row.failure_count, row.last_error_code) == (2, "temporarily_unavailable")
    assert tenant.status == Tenant.Status.CONSENTED

    token = token_get_valid(tenant_id=tenant.pk)

    row.refresh_from_db()
    tenant.refresh_from_db()
    assert token.token == row.access_token
    assert row.failure_count == 0
    assert tenant.status == Tenant.Status.CONSENTED
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_timed_out_refresh_is_transient(consented_tenant, strict, settings):
    settings.DOCUSIGN_READ_TIMEOUT_S = 0.5
    tenant = consented_tenant()
    expire_in_portal(tenant)
    strict.fault("POST /oauth/token", kind="timeout", delay_s=1.5)

    with pytest.raises(TokenTemporarilyUnavailable) as caught:
        token_get_valid(tenant_id=tenant.pk)

    assert caught.value.code == "timeout"
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.CONSENTED


@pytest.mark.django_db
def test_tenant_flagged_as_error_recovers_on_the_next_successful_refresh(consented_tenant, strict):
    tenant = consented_tenant()
    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.ACTIVE)
    TenantStatusChange.objects.create(
        tenant=tenant, from_status="", to_status=Tenant.Status.ACTIVE, actor_label="tests"
    )
    expire_in_portal(tenant)
    strict.fault("POST /oauth/token", status=503, count=1)
    with pytest.raises(TokenTemporarilyUnavailable):
        token_refresh(tenant_id=tenant.pk)
    assert token_refresh_gave_up(tenant_id=tenant.pk) is True
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.ERROR

    token_refresh(tenant_id=tenant.pk)

    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.ACTIVE  # the state before the error, not just "consented"
    assert AuditEvent.objects.filter(action="token.recovered", target_id=str(tenant.pk)).exists()
    # The first renewal after failures is audited, with how many came before it.
    renewed = AuditEvent.objects.get(action="token.refresh", target_id=str(tenant.pk))
    assert "after 1 failed attempt(s)" in renewed.message


@pytest.mark.django_db
def test_jwt_consent_revoked_flags_needs_reconsent(consented_tenant, emulator):
    tenant = consented_tenant(
        user_id=TEST_SINGLE_ADMIN_USER_ID, account_id=TEST_ACCOUNT_2_ID, grant_mode="jwt"
    )
    emulator.revoke_consent(TEST_SINGLE_ADMIN_USER_ID, TEST_CLIENT_ID)
    expire_in_portal(tenant)
    emulator.reset_calls()

    with pytest.raises(TokenReconsentRequired) as caught:
        token_get_valid(tenant_id=tenant.pk)

    tenant.refresh_from_db()
    assert caught.value.code == "consent_required"
    assert tenant.status == Tenant.Status.NEEDS_RECONSENT
    assert "consent_required" in tenant.status_reason
    with pytest.raises(TokenReconsentRequired):
        token_get_valid(tenant_id=tenant.pk)
    assert token_calls(emulator, JWT) == 1


@pytest.mark.django_db
def test_missing_secret_key_puts_the_tenant_in_error_without_calling(consented_tenant, strict):
    tenant = consented_tenant()
    tenant.integration.secret_key = ""
    tenant.integration.save()
    expire_in_portal(tenant)

    with pytest.raises(TokenUnavailable) as caught:
        token_get_valid(tenant_id=tenant.pk)

    tenant.refresh_from_db()
    assert caught.value.code == "no_secret_key"
    assert not isinstance(caught.value, TokenTemporarilyUnavailable)
    assert tenant.status == Tenant.Status.ERROR
    assert token_calls(strict) == 0
