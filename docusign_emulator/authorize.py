"""Account server handler `/oauth/auth` (API.md 1): the sign-in form, the consent page (individual
or organization admin consent) and the authorization code sent back to the redirect URI."""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from docusign_emulator import errors as e
from docusign_emulator import templates
from docusign_emulator.models import AuthCode, User
from docusign_emulator.state import Store, new_token
from docusign_emulator.wire import Request, Response, html_response, redirect

if TYPE_CHECKING:
    from docusign_emulator.server import Emulator

SESSION_COOKIE = "ds_emulator_session"


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
