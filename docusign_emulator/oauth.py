"""Account server handlers: `/oauth/auth`, `/oauth/token`, `/oauth/userinfo` (API.md 1)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import jwt

from docusign_emulator import errors as e
from docusign_emulator import templates
from docusign_emulator.state import AuthCode, Store, Token, User, b64url, new_token
from docusign_emulator.wire import (
    Request,
    Response,
    form_decoded,
    html_response,
    json_response,
    redirect,
)

if TYPE_CHECKING:
    from docusign_emulator.server import Emulator

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Short names for call counters: "POST /oauth/token refresh_token" (docs/contracts.md 1).
GRANT_NAMES = {JWT_GRANT: "jwt_bearer"}
SESSION_COOKIE = "ds_emulator_session"


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(SHA-256(verifier)) without padding."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


# --- GET/POST /oauth/auth ------------------------------------------------------------------


def _error_page(status: int, error: str, description: str) -> Response:
    return html_response(status, templates.error_page(error=error, description=description))


def _with_params(uri: str, params: dict[str, str]) -> str:
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


def authorize_get(app: Emulator, req: Request) -> Response:
    params: dict[str, str] = {}
    for name, value in req.query:
        if name in params:
            return _error_page(400, e.INVALID_REQUEST, f"Duplicate parameter: {name}")
        params[name] = value
    store = app.store
    with store.lock:
        key = store.keys.get(params.get("client_id", ""))
        if key is None:
            return _error_page(
                400, "invalid_client", "The client_id is not a known integration key."
            )
        redirect_uri = params.get("redirect_uri", "")
        # Exact string match, no normalisation; an unknown URI never gets a redirect (API.md 1.2).
        if redirect_uri not in key.redirect_uris:
            return _error_page(
                400, "invalid_redirect_uri", "The redirect URI is not registered for this client."
            )
        state = params.get("state")

        def fail(error: str, description: str) -> Response:
            out = {"error": error, "error_description": description}
            if state is not None:
                out["state"] = state
            return redirect(_with_params(redirect_uri, out))

        response_type = params.get("response_type", "")
        if response_type != "code":
            # The implicit grant is not offered here; nor is anything but `code`.
            return _error_page(
                400,
                "unsupported_response_type",
                f"response_type {response_type!r} is not supported.",
            )
        scopes = params.get("scope", "").split()
        if not scopes:
            return fail("invalid_scope", "The scope parameter is required.")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if (challenge is not None or method is not None) and (method != "S256" or not challenge):
            return fail(e.INVALID_REQUEST, "PKCE requires code_challenge_method=S256.")
        admin_scopes = params.get("admin_consent_scope", "").split()
        if "admin_consent_scope" in params and ("openid" not in scopes or not admin_scopes):
            # API.md 7: admin consent asks scope=openid with the per-user scopes beside it.
            return fail("invalid_scope", "admin_consent_scope needs scope=openid and scopes.")
        request_id = secrets.token_urlsafe(24)
        store.auth_requests[request_id] = {
            "admin_consent_scopes": admin_scopes,
            "client_id": key.client_id,
            "client_name": key.name or key.client_id,
            "redirect_uri": redirect_uri,
            "scopes": scopes,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": method,
            "created": store.now(),
            "user_id": None,
        }
        session_user = store.sessions.get(req.cookie(SESSION_COOKIE) or "")
        if session_user and params.get("prompt") != "login" and session_user in store.users:
            return _after_login(store, request_id, store.users[session_user])
        return html_response(
            200,
            templates.login_page(auth_request=request_id, client_name=key.name or key.client_id),
        )


def authorize_post(app: Emulator, req: Request) -> Response:
    try:
        form = req.form()
    except ValueError as exc:
        return _error_page(400, e.INVALID_REQUEST, str(exc))
    store = app.store
    with store.lock:
        request_id = form.get("auth_request", "")
        pending = store.auth_requests.get(request_id)
        if pending is None:
            return _error_page(400, e.INVALID_REQUEST, "The sign-in request expired. Start again.")
        step = form.get("step")
        if step == "login":
            user = store.user_by_email(form.get("email", ""))
            password = form.get("password", "")
            if user is None or not hmac.compare_digest(
                user.password.encode("utf-8"), password.encode("utf-8")
            ):
                return html_response(
                    200,
                    templates.login_page(
                        auth_request=request_id,
                        client_name=pending["client_name"],
                        error="Username or password is incorrect.",
                        email=form.get("email", ""),
                    ),
                )
            session = secrets.token_urlsafe(24)
            store.sessions[session] = user.user_id
            response = _after_login(store, request_id, user)
            response.headers.append(
                ("Set-Cookie", f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax")
            )
            return response
        if step == "consent":
            user = store.users.get(pending.get("user_id") or "")
            if user is None:
                return _error_page(400, e.INVALID_REQUEST, "Sign in first.")
            decision = form.get("decision")
            if decision == "allow":
                store.grant_consent(user.user_id, pending["client_id"], pending["scopes"])
                if pending.get("organization_id"):
                    store.grant_org_consent(
                        pending["organization_id"],
                        pending["client_id"],
                        pending["admin_consent_scopes"],
                    )
                return _issue_code(store, request_id, user)
            if decision == "deny":
                # API.md 1.2: the denial redirect is UNCONFIRMED; RFC 6749 4.1.2.1 shape.
                store.auth_requests.pop(request_id, None)
                out = {"error": "access_denied", "error_description": "The user denied consent."}
                if pending["state"] is not None:
                    out["state"] = pending["state"]
                return redirect(_with_params(pending["redirect_uri"], out))
            return _error_page(400, e.INVALID_REQUEST, "Choose Allow access or Deny.")
        return _error_page(400, e.INVALID_REQUEST, "Unknown step.")


def _after_login(store: Store, request_id: str, user: User) -> Response:
    pending = store.auth_requests[request_id]
    pending["user_id"] = user.user_id
    if pending.get("admin_consent_scopes"):
        return _admin_consent(store, request_id, user)
    if store.has_consent(user.user_id, pending["client_id"], pending["scopes"]):
        return _issue_code(store, request_id, user)
    return html_response(
        200,
        templates.consent_page(
            auth_request=request_id,
            client_name=pending["client_name"],
            user_email=user.email,
            scopes=pending["scopes"],
        ),
    )


def _admin_consent(store: Store, request_id: str, user: User) -> Response:
    """Organization admin consent (API.md 7). The refusals for the two prerequisites are the
    emulator's wording (UNCONFIRMED at DocuSign; README)."""
    pending = store.auth_requests[request_id]

    def refuse(error: str, description: str) -> Response:
        store.auth_requests.pop(request_id, None)
        out = {"error": error, "error_description": description}
        if pending["state"] is not None:
            out["state"] = pending["state"]
        return redirect(_with_params(pending["redirect_uri"], out))

    orgs = store.organizations_administered(user.user_id)
    if not orgs:
        return refuse(
            "unauthorized_client", "The signed-in user is not an organization administrator."
        )
    org = next((o for o in orgs if o.claimed_domains), None)
    if org is None:
        return refuse(
            "invalid_request",
            "The organization has no claimed domain; claim a domain before granting consent.",
        )
    pending["organization_id"] = org.organization_id
    return html_response(
        200,
        templates.admin_consent_page(
            auth_request=request_id,
            client_name=pending["client_name"],
            user_email=user.email,
            organization_name=org.name or org.organization_id,
            claimed_domains=org.claimed_domains,
            scopes=pending["admin_consent_scopes"],
        ),
    )


def _issue_code(store: Store, request_id: str, user: User) -> Response:
    pending = store.auth_requests.pop(request_id)
    if pending.get("organization_id") and store.config["admin_consent_redirect"] == "state_only":
        out_state = {} if pending["state"] is None else {"state": pending["state"]}
        return redirect(_with_params(pending["redirect_uri"], out_state))
    code = AuthCode(
        code=new_token(),
        client_id=pending["client_id"],
        user_id=user.user_id,
        redirect_uri=pending["redirect_uri"],
        scopes=pending["scopes"],
        expires_at=store.now() + float(store.config["code_ttl_s"]),
        code_challenge=pending["code_challenge"],
        code_challenge_method=pending["code_challenge_method"],
    )
    store.codes[code.code] = code
    store.gc()
    store.touch()
    out = {"code": code.code}
    if pending["state"] is not None:
        out["state"] = pending["state"]
    return redirect(_with_params(pending["redirect_uri"], out))


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
