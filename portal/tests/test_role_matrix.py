"""Every role against every staff URL: what each may see, and that a refused change changes nothing.

The URLs are read from `portal.urls` itself, so a page added later is covered without editing this
file; a URL keyword this file cannot fill fails loudly instead of being skipped.
"""

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import User
from accounts.roles import ROLE_PERMISSIONS, Role
from apikeys.models import ApiKey
from apikeys.tests.factories import api_key_issue
from common.models import AuditEvent, BulkOperation
from portal.views.mixins import StaffRequiredMixin
from tenants.models import Invite, Tenant
from tenants.tests.factories import IntegrationFactory, InviteFactory, TenantFactory

# Pages for people who are not staff: sign-in, health probes, the client admin's consent pages and
# the endpoints DocuSign itself calls (Connect events and the OAuth-for-Connect token endpoint).
PUBLIC_NAMES = {
    "login",
    "logout",
    "healthz",
    "readyz",
    "metrics",
    "connect-hook",
    "connect-oauth-token",
}
# The sign-in steps (allauth's names for the same pages, the second-factor step, SSO).
PUBLIC_NAMES |= {
    "account_login",
    "account_logout",
    "mfa_authenticate",
    "mfa_trust",
    "mfa_login_webauthn",
    "openid_connect_login",
    "openid_connect_callback",
    "socialaccount_login_cancelled",
    "socialaccount_login_error",
}
PUBLIC_PREFIXES = ("consent-",)
# Pages every signed-in staff member has for themselves, whatever the role: their password, their
# second factors (allauth's mfa_* pages) and their sessions.
SELF_SERVICE_NAMES = {
    "password-change",
    "account_change_password",
    "account_reauthenticate",
    "usersessions_list",
}
SELF_SERVICE_PREFIXES = ("mfa_",)
FLEET_NAMES = {"dashboard", "tenant-list", "tenant-detail", "bulk-detail", "bulk-progress"}
ROLES = [Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.SUPPORT]


# The partner API (namespace "api") is not for staff: its keys and scopes have a matrix of their own
# (portal/api/tests/test_scope_matrix.py).
def _named_patterns(patterns, namespace_skip=("admin", "api")):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in namespace_skip or entry.app_name in namespace_skip:
                continue
            yield from _named_patterns(entry.url_patterns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry


def _is_public(name: str) -> bool:
    return name in PUBLIC_NAMES or name.startswith(PUBLIC_PREFIXES)


def _is_self_service(name: str) -> bool:
    return not _is_public(name) and (
        name in SELF_SERVICE_NAMES or name.startswith(SELF_SERVICE_PREFIXES)
    )


ALL_PATTERNS = list(_named_patterns(get_resolver("portal.urls").url_patterns))
STAFF_PATTERNS = sorted(
    (p for p in ALL_PATTERNS if not _is_public(p.name) and not _is_self_service(p.name)),
    key=lambda p: p.name,
)


@pytest.mark.django_db
def test_self_service_pages_still_need_a_sign_in(client):
    for pattern in ALL_PATTERNS:
        if _is_self_service(pattern.name):
            # allauth's security-key pages name the key by `pk` in an enclosing route.
            needs_pk = "pk" in str(get_resolver().reverse_dict.getlist(pattern.name))
            response = client.get(reverse(pattern.name, kwargs={"pk": 1} if needs_pk else None))
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("login"))


def test_every_staff_url_is_behind_the_staff_mixin():
    assert len(STAFF_PATTERNS) >= 10
    unguarded = [
        p.name
        for p in STAFF_PATTERNS
        if not issubclass(getattr(p.callback, "view_class", object), StaffRequiredMixin)
    ]
    assert unguarded == []


def _staff(role: str) -> User:
    # No password: force_login needs none, and hashing one per role per case is slow.
    return User.objects.create(username=f"matrix-{role}", role=role)


@pytest.fixture
def world(db):
    """One object of each kind a URL can name, and a signed-in client per role."""
    integration = IntegrationFactory()
    tenant = TenantFactory(integration=integration, status=Tenant.Status.INVITED)
    invite = InviteFactory(tenant=tenant, kind=Invite.Kind.CONSENT)
    kwargs = {
        "tenant_id": tenant.pk,
        "integration_id": integration.pk,
        "user_id": User.objects.create(username="someone-else", role=Role.SUPPORT).pk,
        "operation_id": BulkOperation.objects.create(kind=BulkOperation.Kind.CONNECT_RESYNC).pk,
        "key_id": api_key_issue().api_key.pk,
    }
    from tenants.services.invites import invite_token

    kwargs["token"] = invite_token(invite)
    if apps.is_installed("connect"):
        from connect.tests.factories import ConnectTemplateFactory

        kwargs["template_id"] = ConnectTemplateFactory(integration=integration).pk
    if apps.is_installed("events"):
        from events.models import ConnectEvent

        kwargs["event_id"] = ConnectEvent.objects.create(
            tenant=tenant,
            account_id="acct",
            configuration_id="1",
            event="envelope-sent",
            generated_date_time="2026-01-01T00:00:00Z",
            payload={"event": "envelope-sent"},
            auth_method=ConnectEvent.AuthMethod.choices[0][0],
        ).pk
    if apps.is_installed("forwarding"):
        from forwarding.models import Destination

        kwargs["destination_id"] = Destination.objects.create(
            integration=integration, name="App", url="https://hooks.example.com/in"
        ).pk
    clients = {}
    for role in ROLES:
        client = Client()
        user = _staff(role)
        client.force_login(user)
        client.user = user
        clients[role] = client
    return {"kwargs": kwargs, "clients": clients, "tenant": tenant}


def _url(pattern: URLPattern, available: dict) -> str:
    names = list(pattern.pattern.converters)
    missing = [n for n in names if n not in available]
    assert not missing, f"{pattern.name}: teach this test to fill {missing}"
    return reverse(pattern.name, kwargs={n: available[n] for n in names})


def _snapshot() -> dict:
    """Row counts of every project model (the audit log aside) and each tenant's state."""
    counts = {}
    for app_label in (
        "accounts",
        "apikeys",
        "common",
        "tenants",
        "connect",
        "events",
        "forwarding",
    ):
        if not apps.is_installed(app_label):
            continue
        for model in apps.get_app_config(app_label).get_models():
            if model is not AuditEvent:
                counts[model._meta.label] = model.objects.count()
    counts["tenants"] = sorted(
        Tenant.objects.values_list("pk", "status", "archived_at", "name", "updated_at")
    )
    counts["api_keys"] = sorted(ApiKey.objects.values_list("pk", "revoked_at"))
    return counts


@pytest.mark.parametrize("pattern", STAFF_PATTERNS, ids=lambda p: p.name)
def test_each_role_may_look_at_a_page_only_with_its_permission(world, pattern):
    view_class = pattern.callback.view_class
    url = _url(pattern, world["kwargs"])
    for role in ROLES:
        allowed = view_class.permission in ROLE_PERMISSIONS[role]
        response = world["clients"][role].get(url)
        if not allowed:
            assert response.status_code == 403, (role, url)
        elif pattern.name in FLEET_NAMES:
            assert response.status_code == 200, (role, url)
        else:
            # Someone else's page: any answer but a refusal or a crash (POST-only views say 405).
            assert response.status_code != 403, (role, url)
            assert response.status_code < 500, (role, url, response.status_code)


@pytest.mark.parametrize("pattern", STAFF_PATTERNS, ids=lambda p: p.name)
def test_a_refused_change_answers_403_writes_an_audit_row_and_changes_nothing(world, pattern):
    view_class = pattern.callback.view_class
    needed = view_class().required_permission("POST")
    url = _url(pattern, world["kwargs"])
    refused_roles = [role for role in ROLES if needed not in ROLE_PERMISSIONS[role]]
    for role in refused_roles:
        client = world["clients"][role]
        before = _snapshot()
        denied_before = AuditEvent.objects.filter(action="access.denied", actor=client.user).count()

        response = client.post(
            url,
            {
                "name": "changed",
                "kind": "connect_resync",
                "tenant_ids": [world["tenant"].pk],
                "all_matching": "on",
            },
        )

        assert response.status_code == 403, (role, url)
        assert (
            AuditEvent.objects.filter(action="access.denied", actor=client.user).count()
            == denied_before + 1
        )
        assert _snapshot() == before, (role, url)


def test_support_may_change_nothing_anywhere():
    """Every view that accepts a POST demands more than the read permission Support holds."""
    support = ROLE_PERMISSIONS[Role.SUPPORT]
    writable = [p for p in STAFF_PATTERNS if hasattr(p.callback.view_class, "post")]
    assert writable
    open_to_support = [
        p.name for p in writable if p.callback.view_class().required_permission("POST") in support
    ]
    assert open_to_support == []
