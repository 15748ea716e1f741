"""What an OpenID Connect sign-in must prove before it makes a staff session, and which role it
grants. allauth checks the ID token's signature, issuer, audience and expiry (portal/auth/oidc.py);
the nonce and the group claim are checked here."""

from django.conf import settings

from accounts.roles import Role


class SSORefused(Exception):
    """A sign-in the portal refuses; the message is shown to the person and audited."""


def sso_claims_check(*, extra_data: dict, state: dict) -> dict:
    """The claims of a verified sign-in: the ID token's over userinfo's."""
    id_token = extra_data.get("id_token") or {}
    expected_nonce = state.get("nonce")
    if not expected_nonce or id_token.get("nonce") != expected_nonce:
        raise SSORefused(
            "The ID token's nonce does not match this sign-in: the answer was made for another "
            "sign-in attempt. Start again from the portal's sign-in page."
        )
    return {**(extra_data.get("userinfo") or {}), **id_token}


def sso_role_groups() -> dict[str, set[str]]:
    """OIDC_ROLE_GROUPS as role → group names (several separated by ';')."""
    return {
        role: {g.strip() for g in str(groups).split(";") if g.strip()}
        for role, groups in settings.OIDC_ROLE_GROUPS.items()
    }


def sso_role_for(claims: dict) -> str:
    """The highest role any of the user's groups grants."""
    claim = settings.OIDC_GROUPS_CLAIM
    if claim not in claims:
        raise SSORefused(
            f"The identity provider sent no '{claim}' claim, so the portal cannot tell your "
            "role. Ask its administrator to include the group claim in the portal's app."
        )
    groups = claims[claim]
    groups = {groups} if isinstance(groups, str) else {str(g) for g in groups or []}
    mapping = sso_role_groups()
    for role in Role.values:  # owner first: the highest role wins
        if mapping.get(role, set()) & groups:
            return role
    raise SSORefused(
        "None of your groups at the identity provider grants a portal role. Ask an owner "
        "which group to join."
    )
