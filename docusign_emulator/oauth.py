"""Account server handlers: `/oauth/token` and `/oauth/userinfo` (API.md 1); `/oauth/auth` is in
authorize.py."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

import jwt

from docusign_emulator import errors as e
from docusign_emulator.models import Token
from docusign_emulator.state import Store, b64url
from docusign_emulator.wire import (
    Request,
    Response,
    form_decoded,
    json_response,
)

if TYPE_CHECKING:
    from docusign_emulator.server import Emulator

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Short names for call counters: "POST /oauth/token refresh_token" (docs/contracts.md 1).
GRANT_NAMES = {JWT_GRANT: "jwt_bearer"}


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(SHA-256(verifier)) without padding."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


# --- POST /oauth/token ---------------------------------------------------------------------


def _grant_error(description: str) -> e.OAuthError:
    return e.OAuthError(e.INVALID_GRANT, description)


def _token_body(access: Token, refresh: Token | None, store: Store) -> dict:
    body: dict[str, str | int] = {
        "access_token": access.token,
        "token_type": "Bearer",
    }
    if refresh is not None:
        body["refresh_token"] = refresh.token
    body["expires_in"] = round(access.expires_at - access.issued_at)
    return body


def token(app: Emulator, req: Request) -> Response:
    content_type = (req.header("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise e.OAuthError(
            e.INVALID_REQUEST, "Content-Type must be application/x-www-form-urlencoded"
        )
    try:
        form = req.form()
    except ValueError as exc:
        raise e.OAuthError(e.INVALID_REQUEST, str(exc)) from exc
    grant = form.get("grant_type", "")
    handler = {
        "authorization_code": _authorization_code,
        "refresh_token": _refresh_token,
        JWT_GRANT: _jwt_bearer,
    }.get(grant)
    if handler is None:
        # API.md 1.6: DocuSign answers invalid_grant / unsupported_grant_type.
        raise _grant_error(e.UNSUPPORTED_GRANT_TYPE)
    return json_response(200, handler(app, req, form), [("Cache-Control", "no-store")])


def _client(store: Store, req: Request, form: dict[str, str]) -> tuple[str, bool]:
    """Authenticate the client: (client_id, confidential). Basic auth, or a public client_id."""
    try:
        basic = req.basic()
    except ValueError as exc:
        raise _grant_error(e.UNAUTHORIZED_CLIENT) from exc
    if basic is not None:
        client_id = _basic_client(store, *basic)
        if client_id is None:
            raise _grant_error(e.UNAUTHORIZED_CLIENT)
        if form.get("client_id") not in (None, client_id):
            raise _grant_error(e.UNAUTHORIZED_CLIENT)
        return client_id, True
    client_id = form.get("client_id", "")
    if client_id not in store.keys:
        raise _grant_error(e.UNAUTHORIZED_CLIENT)
    return client_id, False


def _basic_client(store: Store, raw_id: str, raw_secret: str) -> str | None:
    """The client id whose secret matches: the raw credentials first (DocuSign's SDKs do not
    form-encode them), then their RFC 6749 2.3.1 form-decoded variant."""
    candidates = [(raw_id, raw_secret)]
    decoded = (form_decoded(raw_id), form_decoded(raw_secret))
    if decoded != candidates[0]:
        candidates.append(decoded)
    for client_id, secret in candidates:
        key = store.keys.get(client_id)
        if key is not None and key.secret and _same(key.secret, secret):
            return client_id
    return None


def _same(expected: str, given: str) -> bool:
    # Bytes: compare_digest refuses non-ASCII str.
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def _authorization_code(app: Emulator, req: Request, form: dict[str, str]) -> dict:
    store = app.store
    with store.lock:
        client_id, confidential = _client(store, req, form)
        code = store.codes.get(form.get("code", ""))
        if code is None or code.used or code.expires_at <= store.now():
            raise _grant_error(e.EXPIRED_OR_USED_CODE)
        if code.client_id != client_id:
            raise _grant_error(e.UNAUTHORIZED_CLIENT)
        if "redirect_uri" in form and form["redirect_uri"] != code.redirect_uri:
            raise _grant_error(e.UNAUTHORIZED_CLIENT)
        if code.code_challenge:
            verifier = form.get("code_verifier", "")
            expected = code.code_challenge
            if not verifier or not _same(expected, pkce_challenge(verifier)):
                raise _grant_error("invalid_code_verifier")
        elif not confidential:
            # A public client proves possession only through PKCE.
            raise _grant_error(e.UNAUTHORIZED_CLIENT)
        code.used = True
        access = store.issue_token(
            kind="access",
            client_id=client_id,
            user_id=code.user_id,
            scopes=code.scopes,
            ttl=float(store.config["acg_access_ttl_s"]),
            grant="authorization_code",
        )
        refresh = store.issue_token(
            kind="refresh",
            client_id=client_id,
            user_id=code.user_id,
            scopes=code.scopes,
            ttl=float(store.config["refresh_ttl_s"]),
            grant="authorization_code",
            family=access.family,
        )
        return _token_body(access, refresh, store)


def _refresh_token(app: Emulator, req: Request, form: dict[str, str]) -> dict:
    store = app.store
    with store.lock:
        client_id, _ = _client(store, req, form)
        old = store.tokens.get(form.get("refresh_token", ""))
        if old is None or old.kind != "refresh":
            raise _grant_error(e.INVALID_REFRESH_TOKEN)
        if old.client_id != client_id:
            raise _grant_error(e.UNAUTHORIZED_CLIENT)
        strict = store.config["refresh_rotation"] == "strict"
        if strict and old.used and not old.revoked:
            # Replay of a rotated token: treat as theft and kill the whole family (API.md 1.4).
            for tok in store.tokens.values():
                if tok.family == old.family:
                    tok.revoked = True
            store.touch()
            raise _grant_error(e.INVALID_REFRESH_TOKEN)
        if old.revoked or old.expires_at <= store.now():
            raise _grant_error(e.INVALID_REFRESH_TOKEN)
        old.used = True
        # API.md 1.4: `extended` renews the 30 days; otherwise the original expiry is kept.
        if "extended" in old.scopes:
            expires_at = store.now() + float(store.config["refresh_ttl_s"])
        else:
            expires_at = old.expires_at
        access = store.issue_token(
            kind="access",
            client_id=client_id,
            user_id=old.user_id,
            scopes=old.scopes,
            ttl=float(store.config["acg_access_ttl_s"]),
            grant="refresh_token",
            family=old.family,
        )
        new = store.issue_token(
            kind="refresh",
            client_id=client_id,
            user_id=old.user_id,
            scopes=old.scopes,
            ttl=0,
            grant="refresh_token",
            family=old.family,
            expires_at=expires_at,
        )
        if strict:
            _cap_refresh_tokens(store, new)
        return _token_body(access, new, store)


def _cap_refresh_tokens(store: Store, newest: Token) -> None:
    """Strict mode: at most `max_refresh_tokens` unused refresh tokens per user and key."""
    key = (newest.user_id, newest.client_id)
    # Used and revoked tokens never come back to life: drop them from the index as we go.
    live = [t for t in store.refresh_tokens_by_grant.get(key, []) if not t.used and not t.revoked]
    live.sort(key=lambda t: t.issued_at)
    for tok in live[: max(0, len(live) - int(store.config["max_refresh_tokens"]))]:
        tok.revoked = True
    store.refresh_tokens_by_grant[key] = [t for t in live if not t.revoked]


def _jwt_bearer(app: Emulator, req: Request, form: dict[str, str]) -> dict:
    assertion = form.get("assertion", "")
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise _grant_error(e.NO_VALID_KEYS) from exc
    # Only RS256: `none` and HS256 (public key as HMAC secret) must never pass.
    if header.get("alg") != "RS256":
        raise _grant_error(e.NO_VALID_KEYS)
    store = app.store
    with store.lock:
        key = store.keys.get(str(claims.get("iss", "")))
        public_keys = list(key.public_keys) if key else []
        now = store.now()
        max_life = float(store.config.get("jwt_max_assertion_lifetime_s") or 0)
    if key is None:
        raise _grant_error(e.ISSUER_NOT_FOUND)
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    # API.md 1.5: `aud` is the bare auth host; a mismatch gives issuer_not_found.
    if app.auth_host not in auds:
        raise _grant_error(e.ISSUER_NOT_FOUND)
    verified = False
    for pem in public_keys:
        try:
            jwt.decode(
                assertion,
                pem,
                algorithms=["RS256"],
                options={
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            continue
        verified = True
        break
    if not verified:
        raise _grant_error(e.NO_VALID_KEYS)
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise _grant_error(e.EXPIRED_ASSERTION)
    if exp <= now:  # the emulator clock, so /_emulator/clock can expire assertions
        raise _grant_error(e.EXPIRED_ASSERTION)
    if max_life and exp - iat > max_life:
        raise _grant_error(e.EXPIRED_ASSERTION)
    scopes = str(claims.get("scope") or "signature").split()
    with store.lock:
        user = store.users.get(str(claims.get("sub", "")))
        if user is None:
            raise _grant_error(e.USER_NOT_FOUND)
        needed = sorted({*scopes, "impersonation"})
        if not store.has_consent(user.user_id, key.client_id, needed):
            raise e.OAuthError(e.CONSENT_REQUIRED, "consent_required")
        access = store.issue_token(
            kind="access",
            client_id=key.client_id,
            user_id=user.user_id,
            scopes=scopes,
            # API.md 1.5: one hour whatever the assertion's `exp` says.
            ttl=float(store.config["jwt_access_ttl_s"]),
            grant="jwt_bearer",
        )
        return _token_body(access, None, store)


# --- GET /oauth/userinfo -------------------------------------------------------------------


def userinfo(app: Emulator, req: Request) -> Response:
    store = app.store
    with store.lock:
        token = store.live_token(req.bearer() or "", "access")
        user = store.users.get(token.user_id) if token else None
        if token is None or user is None:
            raise e.OAuthError("invalid_token", e.INVALID_TOKEN[1], status=401)
        accounts = []
        for membership in user.memberships:
            account = store.accounts.get(membership.account_id)
            if account is None:
                continue
            entry: dict = {
                "account_id": account.account_id,
                "is_default": membership.is_default,  # a JSON boolean (API.md 1.7)
                "account_name": account.account_name,
                "base_uri": app.base_uri(account.shard),
            }
            if account.organization_id:
                entry["organization"] = {
                    "organization_id": account.organization_id,
                    "links": [
                        {
                            "rel": "self",
                            "href": f"{app.public_url}/organizations/{account.organization_id}",
                        }
                    ],
                }
            accounts.append(entry)
        given, _, family = user.name.partition(" ")
        body = {
            "sub": user.user_id,
            "name": user.name,
            "given_name": given,
            "family_name": family,
            "created": user.created,
            "email": user.email,
            "accounts": accounts,
        }
    return json_response(200, body)
