"""The DocuSign account server: consent URLs, the token endpoint (three grants) and userinfo.

None of these calls stores anything: tokens are returned, and a portal service stores them.
Token calls are never retried (see ``_http``).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jwt

from ._http import Clock, HttpCore
from .errors import DocuSignProtocolError
from .models import TokenSet, UserInfo
from .pkce import Pkce, new_pkce

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_JWT_SCOPES: tuple[str, ...] = ("signature", "impersonation")
# DocuSign recommends one hour, and the token it issues lives an hour anyway (API.md 1.5).
MAX_JWT_LIFETIME_S = 3600


class OAuthAPI:
    def __init__(self, http: HttpCore, *, auth_base_url: str, clock: Clock) -> None:
        self._http = http
        self._auth_base_url = auth_base_url
        self._clock = clock
        # JWT `aud` is the bare host[:port] with no scheme; a mismatch is `issuer_not_found`.
        self.auth_host = urlsplit(auth_base_url).netloc

    # -- URLs for the browser -------------------------------------------------------------

    @staticmethod
    def new_pkce() -> Pkce:
        return new_pkce()

    def authorization_url(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        scopes: Sequence[str],
        state: str,
        code_challenge: str | None = None,
        prompt: str | None = None,
        login_hint: str | None = None,
        admin_consent_scopes: Sequence[str] | None = None,
    ) -> str:
        """The Authorization Code Grant consent URL (API.md 1.2). Pass ``Pkce.challenge`` as
        ``code_challenge`` and keep the verifier for ``exchange_code``. An organization admin's
        consent for its users asks ``["openid"]`` with ``admin_consent_scopes`` (API.md 7)."""
        params = {
            "response_type": "code",
            "scope": _scope_string(scopes),
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
        }
        if code_challenge is not None:
            params["code_challenge"] = code_challenge
            params["code_challenge_method"] = "S256"
        if prompt is not None:
            params["prompt"] = prompt
        if login_hint is not None:
            # Unconfirmed that DocuSign honours it (API.md 1.2); harmless if ignored.
            params["login_hint"] = login_hint
        if admin_consent_scopes:
            params["admin_consent_scope"] = _scope_string(admin_consent_scopes)
        return self._auth_url(params)

    def impersonation_consent_url(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        scopes: Sequence[str] = DEFAULT_JWT_SCOPES,
        state: str | None = None,
    ) -> str:
        """Individual consent for JWT impersonation: the user visits it once, and from then on
        ``jwt_user_token`` works for them (DocuSign "obtaining individual consent")."""
        params = {
            "response_type": "code",
            "scope": _scope_string(scopes),
            "client_id": client_id,
            "redirect_uri": redirect_uri,
        }
        if state is not None:
            params["state"] = state
        return self._auth_url(params)

    def _auth_url(self, params: dict[str, str]) -> str:
        # quote (not quote_plus): scopes are joined by %20, and redirect_uri is fully encoded,
        # which the official SDK forgets to do (API.md 5).
        return f"{self._auth_base_url}/oauth/auth?{urlencode(params, quote_via=quote)}"

    # -- the token endpoint ---------------------------------------------------------------

    def exchange_code(
        self,
        *,
        client_id: str,
        client_secret: str,
        code: str,
        code_verifier: str | None = None,
        redirect_uri: str | None = None,
    ) -> TokenSet:
        """Authorization code → tokens (API.md 1.3). Single-use code: never retried."""
        form = {"grant_type": "authorization_code", "code": code}
        if code_verifier is not None:
            form["code_verifier"] = code_verifier
        if redirect_uri is not None:
            form["redirect_uri"] = redirect_uri
        return self._token_request(
            form, client_id=client_id, client_secret=client_secret, secrets=(code, code_verifier)
        )

    def refresh(self, *, client_id: str, client_secret: str, refresh_token: str) -> TokenSet:
        """A new access token *and a new refresh token*: refresh tokens rotate (API.md 1.4), so
        the caller must store the returned pair. Never retried: a retry after DocuSign rotated
        the token would burn it. On ``DocuSignUnavailable`` the old token may or may not still be
        valid; try it again later rather than at once."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self._token_request(
            form, client_id=client_id, client_secret=client_secret, secrets=(refresh_token,)
        )

    def jwt_user_token(
        self,
        *,
        client_id: str,
        user_id: str,
        private_key_pem: str | bytes,
        scopes: Sequence[str] = DEFAULT_JWT_SCOPES,
        lifetime_s: int = MAX_JWT_LIFETIME_S,
    ) -> TokenSet:
        """JWT bearer grant for ``user_id`` (API.md 1.5): an access token of about an hour, no
        refresh token. ``DocuSignConsentRequired`` means the user must visit
        ``impersonation_consent_url`` first."""
        if not 0 < lifetime_s <= MAX_JWT_LIFETIME_S:
            raise ValueError(f"lifetime_s must be in 1..{MAX_JWT_LIFETIME_S}")
        issued_at = int(self._clock().timestamp())
        claims = {
            "iss": client_id,
            "sub": user_id,
            "aud": self.auth_host,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + lifetime_s,
            "scope": _scope_string(scopes),
        }
        try:
            assertion = jwt.encode(claims, private_key_pem, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError):
            # `from None`: the key must not travel with the traceback.
            raise ValueError("private_key_pem is not a usable PEM RSA private key") from None
        form = {"grant_type": JWT_BEARER_GRANT, "assertion": assertion}
        return self._token_request(form, secrets=(assertion,), default_scopes=tuple(scopes))

    def _token_request(
        self,
        form: dict[str, str],
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        secrets: Sequence[str | None] = (),
        default_scopes: tuple[str, ...] = (),
    ) -> TokenSet:
        headers = {"Accept": "application/json"}
        secret_values = [s for s in secrets if s]
        if client_id is not None and client_secret is not None:
            # DocuSign's Basic credentials are base64("<integration key>:<secret>") as-is.
            basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {basic}"
            secret_values += [client_secret, basic]
        # Expiry is counted from before the request, so it errs on the early side.
        requested_at = self._clock()
        body = self._http.request(
            "POST",
            f"{self._auth_base_url}/oauth/token",
            endpoint="/oauth/token",
            idempotent=False,
            headers=headers,
            form=form,
            secrets=secret_values,
        )
        return _token_set(body, requested_at=requested_at, default_scopes=default_scopes)

    # -- userinfo -------------------------------------------------------------------------

    def userinfo(self, access_token: str) -> UserInfo:
        """The user and their accounts, each with the ``base_uri`` its REST calls go to."""
        body = self._http.request(
            "GET",
            f"{self._auth_base_url}/oauth/userinfo",
            endpoint="/oauth/userinfo",
            idempotent=True,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            secrets=(access_token,),
        )
        try:
            return UserInfo.from_wire(body)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DocuSignProtocolError(f"unexpected userinfo body: {exc!r}", status=200) from None


def _scope_string(scopes: Sequence[str]) -> str:
    if isinstance(scopes, str):
        raise TypeError("scopes is a sequence of scope names, not one string")
    return " ".join(scopes)


def _token_set(
    body: dict[str, Any], *, requested_at: datetime, default_scopes: tuple[str, ...]
) -> TokenSet:
    try:
        access_token = str(body["access_token"])
        expires_in = int(body["expires_in"])
    except (KeyError, TypeError, ValueError):
        raise DocuSignProtocolError(
            "token response without access_token/expires_in", status=200
        ) from None
    # DocuSign does not document a refresh-token lifetime field (API.md 1.4); use one if sent.
    refresh_expires_in = body.get("refresh_token_expires_in") or body.get("refresh_expires_in")
    scope = body.get("scope")
    return TokenSet(
        access_token=access_token,
        token_type=str(body.get("token_type") or "Bearer"),
        expires_at=requested_at + timedelta(seconds=expires_in),
        refresh_token=body.get("refresh_token") or None,
        scopes=tuple(scope.split()) if isinstance(scope, str) and scope else default_scopes,
        refresh_expires_at=(
            requested_at + timedelta(seconds=int(refresh_expires_in))
            if refresh_expires_in
            else None
        ),
    )
