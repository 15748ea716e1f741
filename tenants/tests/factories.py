"""Factories for tenants' models. Defaults match the emulator's TEST_SEED, so an
`IntegrationFactory(auth_base_url=emulator_server.url)` works against the test emulator."""

from datetime import timedelta

import factory
from django.utils import timezone

from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ADMIN_EMAIL,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_PARTNER_ACCOUNT_ID,
    TEST_PARTNER_ADMIN_USER_ID,
    TEST_PRIVATE_KEY_PEM,
    TEST_PUBLIC_KEY_PEM,
    TEST_REDIRECT_URI,
)
from tenants.models import (
    ConsentAttempt,
    Integration,
    Invite,
    Tenant,
    TenantAccount,
    TenantToken,
)


class IntegrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Integration

    name = factory.Sequence(lambda n: f"Emulator integration {n}")
    environment = Integration.Environment.EMULATOR
    auth_base_url = "http://127.0.0.1:8765"
    integration_key = TEST_CLIENT_ID
    secret_key = TEST_CLIENT_SECRET
    rsa_private_key = TEST_PRIVATE_KEY_PEM.decode("ascii")
    rsa_public_key = TEST_PUBLIC_KEY_PEM
    redirect_uri = TEST_REDIRECT_URI
    partner_account_id = TEST_PARTNER_ACCOUNT_ID
    partner_user_id = TEST_PARTNER_ADMIN_USER_ID
    is_active = True


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Client {n}")
    slug = factory.Sequence(lambda n: f"client-{n}")
    admin_email = factory.Sequence(lambda n: f"admin{n}@client.test")
    integration = factory.SubFactory(IntegrationFactory)
    grant_mode = Tenant.GrantMode.AUTHORIZATION_CODE


class TenantAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TenantAccount

    tenant = factory.SubFactory(TenantFactory)
    account_id = TEST_ACCOUNT_1_ID
    account_name = "Client One"
    base_uri = factory.LazyAttribute(lambda o: f"{o.tenant.integration.auth_base_url}/na3")
    user_id = TEST_ADMIN_USER_ID
    user_email = TEST_ADMIN_EMAIL
    user_name = "Ada Admin"
    scopes = "signature extended"
    consented_at = factory.LazyFunction(timezone.now)


class TenantTokenFactory(factory.django.DjangoModelFactory):
    """Fake token values: fine for tests that never send them. For real ones use the
    `consented_tenant` fixture, which gets them from the emulator."""

    class Meta:
        model = TenantToken

    tenant = factory.SubFactory(TenantFactory)
    access_token = factory.Sequence(lambda n: f"fake-access-token-{n}")
    access_expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=8))
    refresh_token = factory.Sequence(lambda n: f"fake-refresh-token-{n}")
    refresh_expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))


class InviteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invite

    tenant = factory.SubFactory(TenantFactory)
    nonce = factory.Sequence(lambda n: f"test-nonce-{n:08d}")
    kind = Invite.Kind.CONSENT
    created_by_label = "tests"
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class ConsentAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentAttempt

    invite = factory.SubFactory(InviteFactory)
    tenant = factory.LazyAttribute(lambda attempt: attempt.invite.tenant)
    state_hash = factory.Sequence(lambda n: f"{n:064d}")
    session_key_hash = "0" * 64
    code_verifier = "test-verifier-that-is-long-enough-for-pkce-0000000"
    scopes = "signature extended"
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=10))
