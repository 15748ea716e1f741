"""Token service against the emulator: reuse, refresh, transient and terminal failures."""

from datetime import timedelta

import pytest
from django.utils import timezone

from common.models import AuditEvent
from docusign_emulator.testing import TEST_ACCOUNT_2_ID, TEST_SINGLE_ADMIN_USER_ID
from tenants.docusign import docusign_client_for
from tenants.models import Tenant, TenantToken
from tenants.services.tokens import (
    AccessToken,
    TokenUnavailable,
    token_get_valid,
    token_refresh,
)
from tenants.tests.factories import TenantFactory
from tenants.tests.token_helpers import JWT, expire_in_portal, token_calls

pytestmark = pytest.mark.usefixtures("staff_alerts")


@pytest.mark.django_db
def test_fresh_token_is_returned_without_calling_docusign(consented_tenant, strict):
    tenant = consented_tenant()

    token = token_get_valid(tenant_id=tenant.pk)

    assert token.token == tenant.token.access_token
    assert token.account_id == tenant.account.account_id
    assert token.base_uri == tenant.account.base_uri
    assert token_calls(strict) == 0


def test_access_token_repr_never_shows_the_token():
    token = AccessToken(
        token="eyJ-secret-value",
        expires_at=timezone.now(),
        account_id="a",
        base_uri="b",
        tenant=Tenant(name="Acme"),
    )
    assert "eyJ-secret-value" not in repr(token)


@pytest.mark.django_db
def test_token_within_the_safety_margin_is_refreshed_and_rotated(
    consented_tenant, strict, settings
):
    tenant = consented_tenant()
    old = TenantToken.objects.get(tenant=tenant)
    expire_in_portal(tenant, seconds_left=settings.TOKEN_REFRESH_MARGIN_S - 5)

    token = token_get_valid(tenant_id=tenant.pk)

    row = TenantToken.objects.get(tenant=tenant)
    assert token_calls(strict) == 1
    assert token.token == row.access_token != old.access_token
    assert row.refresh_token != old.refresh_token  # the rotated one was stored
    assert row.generation == old.generation + 1
    assert row.refreshed_at is not None
    assert token.expires_at > timezone.now() + timedelta(hours=7)
    # The new token works at DocuSign, and the next caller reuses it.
    assert docusign_client_for(tenant.integration).oauth.userinfo(token.token).sub
    assert token_get_valid(tenant_id=tenant.pk).token == token.token
    assert token_calls(strict) == 1
    # A routine renewal is on the token row (generation, refreshed_at), not in the audit log.
    assert not AuditEvent.objects.filter(action="token.refresh").exists()


@pytest.mark.django_db
def test_jwt_tenant_gets_a_new_assertion_grant_when_expired(consented_tenant, emulator):
    tenant = consented_tenant(
        user_id=TEST_SINGLE_ADMIN_USER_ID, account_id=TEST_ACCOUNT_2_ID, grant_mode="jwt"
    )
    expire_in_portal(tenant)
    emulator.reset_calls()

    token = token_get_valid(tenant_id=tenant.pk)

    assert token_calls(emulator, JWT) == 1
    info = docusign_client_for(tenant.integration).oauth.userinfo(token.token)
    assert info.sub == TEST_SINGLE_ADMIN_USER_ID
    assert TenantToken.objects.get(tenant=tenant).refresh_token == ""


@pytest.mark.django_db
def test_force_refresh_renews_a_fresh_token(consented_tenant, strict):
    tenant = consented_tenant()
    before = TenantToken.objects.get(tenant=tenant)

    token = token_refresh(tenant_id=tenant.pk, force=True)

    assert token.token != before.access_token
    assert token_calls(strict) == 1


@pytest.mark.django_db
def test_scheduled_refresh_leaves_a_token_that_is_not_due_alone(consented_tenant, strict):
    tenant = consented_tenant()

    token_refresh(tenant_id=tenant.pk)

    assert token_calls(strict) == 0


@pytest.mark.django_db
def test_scheduled_refresh_keeps_an_idle_refresh_token_alive(consented_tenant, strict):
    tenant = consented_tenant()
    TenantToken.objects.filter(tenant=tenant).update(
        refreshed_at=timezone.now() - timedelta(days=8)
    )

    token_refresh(tenant_id=tenant.pk)

    assert token_calls(strict) == 1
    row = TenantToken.objects.get(tenant=tenant)
    assert row.refreshed_at > timezone.now() - timedelta(minutes=1)
    assert row.refresh_expires_at > timezone.now() + timedelta(days=29)


@pytest.mark.django_db
def test_tenant_without_consent_has_no_token():
    tenant = TenantFactory()

    with pytest.raises(TokenUnavailable) as caught:
        token_get_valid(tenant_id=tenant.pk)

    assert caught.value.code == "not_consented"


@pytest.mark.django_db
def test_suspended_tenant_gets_no_token(consented_tenant, strict):
    tenant = consented_tenant()
    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.SUSPENDED)

    with pytest.raises(TokenUnavailable) as caught:
        token_get_valid(tenant_id=tenant.pk)

    assert caught.value.code == "status_suspended"


@pytest.mark.django_db
def test_tokens_docusign_returned_are_kept_when_a_later_step_fails(
    consented_tenant, strict, monkeypatch
):
    """Strict rotation: once DocuSign answered, the old refresh token is dead. The new set is
    committed before anything else runs, so a failure after it (here the audit write) costs
    nothing: the next caller uses the stored tokens without another refresh."""
    from tenants.services import tokens as token_service

    tenant = consented_tenant()
    # After a failed attempt the first success is audited: that write is what fails here.
    TenantToken.objects.filter(tenant=tenant).update(failure_count=1)
    before = TenantToken.objects.get(tenant=tenant)

    def audit_fails(**kwargs):
        raise RuntimeError("the audit write failed")

    monkeypatch.setattr(token_service, "audit_record", audit_fails)
    with pytest.raises(RuntimeError):
        token_refresh(tenant_id=tenant.pk, force=True)
    monkeypatch.undo()

    row = TenantToken.objects.get(tenant=tenant)
    assert row.generation == before.generation + 1
    assert row.refresh_token != before.refresh_token
    assert token_calls(strict) == 1
    assert token_get_valid(tenant_id=tenant.pk).token == row.access_token
    assert token_calls(strict) == 1
    assert token_refresh(tenant_id=tenant.pk, force=True).token != row.access_token  # rotates on
