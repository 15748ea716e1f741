"""Fixtures every app's tests can use (registered through the root conftest.py)."""

import os
import shutil
from pathlib import Path

import pytest

from accounts.roles import Role
from testing.browser import browser  # noqa: F401  (the fixture, for browser tests)


def pytest_sessionstart(session):
    # prometheus-client's multiprocess mode (pytest-env names the folder, as bin/run does): it
    # must exist, start empty, and be the same absolute path for the worker processes tests start.
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        folder = str(Path(folder).resolve())
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)


@pytest.fixture(autouse=True)
def _fast_password_hashing(request):
    # Production hashing is deliberately slow; tests create many users and sign them in.
    if not request.config.pluginmanager.hasplugin("django"):
        return  # the emulator and client suites also run without Django (-p no:django)
    settings = request.getfixturevalue("settings")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    # Used TOTP codes, used ID tokens and sign-in rate limits live in the cache (process memory in
    # the test suite): no test inherits another's.
    yield
    if request.config.pluginmanager.hasplugin("django"):
        from django.core.cache import cache

        cache.clear()


@pytest.fixture(autouse=True)
def _fresh_docusign_clients(request):
    # The portal keeps one DocuSign client per process, and a client remembers the rate-limit
    # headers it saw; each test resets the emulator, so each test starts with fresh clients.
    yield
    if request.config.pluginmanager.hasplugin("django"):
        from tenants.docusign import _clients

        _clients.clear()


@pytest.fixture
def make_staff(db):
    from accounts.tests.factories import UserFactory

    def make(role: str = Role.OWNER, **fields):
        return UserFactory(role=role, **fields)

    return make


@pytest.fixture
def staff_client(client, make_staff):
    """`staff_client(role)` → Django test client signed in as a new staff member of that role."""

    def sign_in(role: str = Role.OWNER, **fields):
        user = make_staff(role, **fields)
        client.force_login(user)
        client.user = user
        return client

    return sign_in


# --- tenants & consent: an emulator integration and consented tenants with real tokens -------


@pytest.fixture
def emulator_integration(db, emulator, emulator_server):
    """An Integration row for the test emulator (reset with TEST_SEED): TEST_CLIENT_ID and its
    secret, the test RSA key (registered in TEST_SEED), redirect URI TEST_REDIRECT_URI."""
    from tenants.tests.factories import IntegrationFactory

    return IntegrationFactory(auth_base_url=emulator_server.url)


@pytest.fixture
def consented_tenant(db, emulator, emulator_server, emulator_integration):
    """`consented_tenant(user_id=..., account_id=..., grant_mode="acg"|"jwt", **tenant_fields)`
    → a Tenant in status `consented` with a TenantAccount and a TenantToken holding REAL tokens
    from the emulator (ACG: access + refresh via `issue_tokens`; JWT: the user's impersonation
    consent is granted, then a real JWT access token is requested, no refresh token)."""
    from datetime import timedelta

    from django.utils import timezone

    from docusign_emulator.testing import TEST_ACCOUNT_1_ID, TEST_ADMIN_USER_ID, TEST_SEED
    from tenants.docusign import docusign_client_for
    from tenants.models import Tenant
    from tenants.tests.factories import TenantAccountFactory, TenantFactory, TenantTokenFactory

    accounts = {a["account_id"]: a for a in TEST_SEED["accounts"]}
    users = {u["user_id"]: u for u in TEST_SEED["users"]}

    def make(
        *,
        user_id: str = TEST_ADMIN_USER_ID,
        account_id: str = TEST_ACCOUNT_1_ID,
        grant_mode: str = Tenant.GrantMode.AUTHORIZATION_CODE,
        integration=None,
        **tenant_fields,
    ) -> Tenant:
        integration = integration or emulator_integration
        user = users[user_id]
        if account_id not in {m["account_id"] for m in user["memberships"]}:
            raise ValueError(f"TEST_SEED user {user_id} is not a member of account {account_id}")
        now = timezone.now()
        tenant_fields.setdefault("admin_email", user["email"])
        tenant_fields.setdefault("status", Tenant.Status.CONSENTED)
        tenant = TenantFactory(integration=integration, grant_mode=grant_mode, **tenant_fields)
        if grant_mode == Tenant.GrantMode.JWT:
            scopes = ["signature", "impersonation"]
            emulator.grant_consent(user_id, integration.integration_key, scopes)
            token_set = docusign_client_for(integration).oauth.jwt_user_token(
                client_id=integration.integration_key,
                user_id=user_id,
                private_key_pem=integration.rsa_private_key,
                scopes=scopes,
            )
            access, refresh, expires_in = token_set.access_token, "", None
            access_expires_at, refresh_expires_at = token_set.expires_at, None
        else:
            scopes = ["signature", "extended"]
            issued = emulator.issue_tokens(integration.integration_key, user_id, scopes)
            access, refresh = issued["access_token"], issued["refresh_token"]
            expires_in = int(issued["expires_in"])
            access_expires_at = now + timedelta(seconds=expires_in)
            refresh_expires_at = now + timedelta(days=30)
        TenantAccountFactory(
            tenant=tenant,
            account_id=account_id,
            account_name=accounts[account_id]["account_name"],
            base_uri=emulator_server.base_uri(accounts[account_id]["shard"]),
            user_id=user_id,
            user_email=user["email"],
            user_name=user["name"],
            scopes=" ".join(scopes),
            consented_at=now,
            jwt_verified_at=now if grant_mode == Tenant.GrantMode.JWT else None,
        )
        TenantTokenFactory(
            tenant=tenant,
            access_token=access,
            access_expires_at=access_expires_at,
            refresh_token=refresh,
            refresh_expires_at=refresh_expires_at,
        )
        return tenant

    return make
