"""The standard test seed: fixed ids, emails and passwords of the test integration key, the
partner account, two client accounts and their users, the RSA key pair for JWT grants, and the
organization seed for admin consent (API.md 7).

Separate from `testing.py` (the emulator process) and `testing_control.py` (the control-plane
client) because it is data: tests and benches import these names, through `testing.py`, to seed
the emulator and to assert against what it holds.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# Fixed fake credentials for tests, on purpose.
# ruff: noqa: S105

TEST_CLIENT_ID = "7c2b8d4e-1a3f-4b5c-9d6e-0f1a2b3c4d5e"
TEST_CLIENT_SECRET = "test-secret-5f0c2a9e-4d3b-4c1a-8e7f-6a5b4c3d2e1f"
TEST_REDIRECT_URI = "http://testserver/consent/callback/"
TEST_PARTNER_ACCOUNT_ID = "11111111-aaaa-4bbb-8ccc-000000000001"
TEST_ACCOUNT_1_ID = "22222222-aaaa-4bbb-8ccc-000000000002"  # shard "na3"
TEST_ACCOUNT_2_ID = "33333333-aaaa-4bbb-8ccc-000000000003"  # shard "eu"
TEST_PARTNER_SHARD = "demo"
TEST_ACCOUNT_1_SHARD = "na3"
TEST_ACCOUNT_2_SHARD = "eu"
TEST_ORGANIZATION_ID = "44444444-aaaa-4bbb-8ccc-000000000004"

TEST_PARTNER_ADMIN_USER_ID = "aaaaaaaa-1111-4222-8333-000000000001"
TEST_PARTNER_ADMIN_EMAIL = "partner.admin@partner.test"
TEST_PARTNER_ADMIN_PASSWORD = "partner-password"
# Admin of both client accounts (account 1 is the default).
TEST_ADMIN_USER_ID = "aaaaaaaa-1111-4222-8333-000000000002"
TEST_ADMIN_EMAIL = "admin@client.test"
TEST_ADMIN_PASSWORD = "admin-password"
# Admin of client account 2 only.
TEST_SINGLE_ADMIN_USER_ID = "aaaaaaaa-1111-4222-8333-000000000003"
TEST_SINGLE_ADMIN_EMAIL = "single.admin@client.test"
TEST_SINGLE_ADMIN_PASSWORD = "single-password"
# Member (not admin) of client account 1.
TEST_NON_ADMIN_USER_ID = "aaaaaaaa-1111-4222-8333-000000000004"
TEST_NON_ADMIN_EMAIL = "member@client.test"
TEST_NON_ADMIN_PASSWORD = "member-password"

_TEST_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
TEST_PRIVATE_KEY_PEM: bytes = _TEST_KEY.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.TraditionalOpenSSL,
    serialization.NoEncryption(),
)
TEST_PUBLIC_KEY_PEM: str = (
    _TEST_KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode("ascii")
)

TEST_SEED: dict[str, Any] = {
    "integration_keys": [
        {
            "client_id": TEST_CLIENT_ID,
            "secret": TEST_CLIENT_SECRET,
            "name": "Partner Portal (tests)",
            "account_id": TEST_PARTNER_ACCOUNT_ID,
            "redirect_uris": [TEST_REDIRECT_URI],
            "public_keys": [TEST_PUBLIC_KEY_PEM],
        }
    ],
    "accounts": [
        {
            "account_id": TEST_PARTNER_ACCOUNT_ID,
            "account_name": "Partner Co (partner)",
            "shard": TEST_PARTNER_SHARD,
            "is_partner": True,
        },
        {
            "account_id": TEST_ACCOUNT_1_ID,
            "account_name": "Client One",
            "shard": TEST_ACCOUNT_1_SHARD,
            "organization_id": TEST_ORGANIZATION_ID,
        },
        {
            "account_id": TEST_ACCOUNT_2_ID,
            "account_name": "Client Two",
            "shard": TEST_ACCOUNT_2_SHARD,
        },
    ],
    "users": [
        {
            "user_id": TEST_PARTNER_ADMIN_USER_ID,
            "email": TEST_PARTNER_ADMIN_EMAIL,
            "password": TEST_PARTNER_ADMIN_PASSWORD,
            "name": "Pat Partner",
            "memberships": [
                {"account_id": TEST_PARTNER_ACCOUNT_ID, "is_admin": True, "is_default": True}
            ],
        },
        {
            "user_id": TEST_ADMIN_USER_ID,
            "email": TEST_ADMIN_EMAIL,
            "password": TEST_ADMIN_PASSWORD,
            "name": "Ada Admin",
            "memberships": [
                {"account_id": TEST_ACCOUNT_1_ID, "is_admin": True, "is_default": True},
                {"account_id": TEST_ACCOUNT_2_ID, "is_admin": True, "is_default": False},
            ],
        },
        {
            "user_id": TEST_SINGLE_ADMIN_USER_ID,
            "email": TEST_SINGLE_ADMIN_EMAIL,
            "password": TEST_SINGLE_ADMIN_PASSWORD,
            "name": "Sol Single",
            "memberships": [
                {"account_id": TEST_ACCOUNT_2_ID, "is_admin": True, "is_default": True}
            ],
        },
        {
            "user_id": TEST_NON_ADMIN_USER_ID,
            "email": TEST_NON_ADMIN_EMAIL,
            "password": TEST_NON_ADMIN_PASSWORD,
            "name": "Mo Member",
            "memberships": [
                {"account_id": TEST_ACCOUNT_1_ID, "is_admin": False, "is_default": True}
            ],
        },
    ],
}

# Organization admin consent (API.md 7), seeded on top of TEST_SEED when a test needs it: the
# two-account admin administers an organization that claimed "client.test"; a service user of
# account 1 is in that domain, a contractor of account 1 is not; the single-account admin
# administers an organization with no claimed domain.
TEST_SYSTEM_USER_ID = "aaaaaaaa-1111-4222-8333-000000000005"
TEST_SYSTEM_USER_EMAIL = "hr.dept@client.test"
TEST_OUTSIDER_USER_ID = "aaaaaaaa-1111-4222-8333-000000000006"
TEST_ORG_SEED: dict[str, Any] = {
    "organizations": [
        {
            "organization_id": TEST_ORGANIZATION_ID,
            "name": "Client Group",
            "claimed_domains": ["client.test"],
            "admin_user_ids": [TEST_ADMIN_USER_ID],
        },
        {
            "organization_id": "55555555-aaaa-4bbb-8ccc-000000000005",
            "name": "Client Two Holdings",
            "claimed_domains": [],
            "admin_user_ids": [TEST_SINGLE_ADMIN_USER_ID],
        },
    ],
    "users": [
        {
            "user_id": TEST_SYSTEM_USER_ID,
            "email": TEST_SYSTEM_USER_EMAIL,
            "password": "hr-dept-password",
            "name": "HR Dept",
            "memberships": [{"account_id": TEST_ACCOUNT_1_ID, "is_default": True}],
        },
        {
            "user_id": TEST_OUTSIDER_USER_ID,
            "email": "contractor@elsewhere.test",
            "password": "contractor-password",
            "name": "Cy Contractor",
            "memberships": [{"account_id": TEST_ACCOUNT_1_ID, "is_default": True}],
        },
    ],
}
