"""A real OpenID Connect provider (django-oauth-toolkit) in a small Django process of its own,
for the SSO tests: `python -m testing.oidc_provider --port N --redirect-uri URI`.

It knows two people (see USERS) and lets a test break its answers on purpose through
`POST /_faults/` (wrong issuer or audience, a signature by another key, no group claim), as the
DocuSign emulator's control plane does: the portal's code is never patched."""

USERS = {
    # username: (password, email, groups)
    "ann": ("ann-provider-pass", "ann@partner.example", ["portal-owners", "everyone"]),
    "otto": ("otto-provider-pass", "otto@partner.example", ["portal-operators"]),
    "nina": ("nina-provider-pass", "nina@partner.example", ["marketing"]),
}
CLIENT_ID = "portal-test-client"
CLIENT_SECRET = "portal-test-secret-0123456789"  # noqa: S105  (a test provider's fixed secret)
