"""The role matrix: which staff role may do what. Every staff view names one permission."""

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    OPERATOR = "operator", "Operator"
    SUPPORT = "support", "Support (read-only)"


class Perm(StrEnum):
    VIEW = "view"  # read every page, never a secret
    OPERATE = "operate"  # send invites, sync, push, resync, re-consent, test events
    MANAGE_TENANTS = "manage_tenants"  # register, edit, import, archive, offboard tenants
    MANAGE_CONNECT = "manage_connect"  # Connect templates, assignments, partner OAuth for Connect
    MANAGE_INTEGRATIONS = "manage_integrations"  # integration keys, RSA keys, HMAC secrets
    MANAGE_STAFF = "manage_staff"  # staff users and their roles
    MANAGE_API_KEYS = "manage_api_keys"  # the partner's API keys (create, revoke)
    SEE_INVITE_LINKS = "see_invite_links"  # an invite link lets its holder link an account


_OPERATOR = {Perm.VIEW, Perm.OPERATE, Perm.MANAGE_TENANTS, Perm.SEE_INVITE_LINKS}
_ADMIN = _OPERATOR | {Perm.MANAGE_CONNECT, Perm.MANAGE_INTEGRATIONS, Perm.MANAGE_API_KEYS}

ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.OWNER: frozenset(_ADMIN | {Perm.MANAGE_STAFF}),
    Role.ADMIN: frozenset(_ADMIN),
    Role.OPERATOR: frozenset(_OPERATOR),
    Role.SUPPORT: frozenset({Perm.VIEW}),
}


def role_allows(role: str, perm: Perm) -> bool:
    return perm in ROLE_PERMISSIONS.get(role, frozenset())
