"""Staff sign-in built on django-allauth: password + second factor, OpenID Connect SSO, sessions.

allauth runs the protocols (TOTP, WebAuthn, recovery codes, OIDC, session tracking); the adapters
here apply the portal's policy: who must enrol, which IdP groups grant which role, audit rows.
"""
