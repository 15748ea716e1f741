"""Control-plane calls for tokens and consent (`/_emulator/tokens/...`,
`/_emulator/consents/...`): issue a token pair without the browser dance, expire or revoke tokens,
grant or revoke a user's or an organization's consent.

Separate from `control.py` because these act only on the account server's grants; the routes
register on import (`server.py` imports this module).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from docusign_emulator.control import _json, route
from docusign_emulator.errors import ControlError
from docusign_emulator.state import Store
from docusign_emulator.wire import Request

if TYPE_CHECKING:
    from docusign_emulator.server import Emulator


@route("POST", "/tokens/issue")
def issue_tokens(app: Emulator, req: Request, _: dict) -> dict:
    data = _json(req)
    store = app.store
    scopes = data.get("scopes") or ["signature", "extended"]
    if isinstance(scopes, str):
        scopes = scopes.split()
    with store.lock:
        if data.get("client_id") not in store.keys:
            raise ControlError("unknown client_id", status=404)
        if data.get("user_id") not in store.users:
            raise ControlError("unknown user_id", status=404)
        store.grant_consent(data["user_id"], data["client_id"], scopes)
        access = store.issue_token(
            kind="access",
            client_id=data["client_id"],
            user_id=data["user_id"],
            scopes=scopes,
            ttl=float(store.config["acg_access_ttl_s"]),
            grant="control",
        )
        refresh = store.issue_token(
            kind="refresh",
            client_id=data["client_id"],
            user_id=data["user_id"],
            scopes=scopes,
            ttl=float(store.config["refresh_ttl_s"]),
            grant="control",
            family=access.family,
        )
        return {
            "access_token": access.token,
            "token_type": "Bearer",
            "refresh_token": refresh.token,
            "expires_in": int(store.config["acg_access_ttl_s"]),
        }


def _select_tokens(store: Store, data: dict, *, access_only: bool) -> list:
    if not data:
        raise ControlError("give access_token, refresh_token, user_id, client_id or all")
    chosen = []
    for tok in store.tokens.values():
        if data.get("all"):
            hit = True
        elif "access_token" in data or "refresh_token" in data:
            hit = tok.token in (data.get("access_token"), data.get("refresh_token"))
        else:
            hit = all(
                getattr(tok, field) == data[field]
                for field in ("user_id", "client_id")
                if field in data
            )
        if hit and (
            not access_only or tok.kind == "access" or tok.token == data.get("refresh_token")
        ):
            chosen.append(tok)
    return chosen


@route("POST", "/tokens/expire")
def expire_tokens(app: Emulator, req: Request, _: dict) -> dict:
    data = _json(req)
    store = app.store
    with store.lock:
        chosen = _select_tokens(store, data, access_only=True)
        for tok in chosen:
            tok.expires_at = min(tok.expires_at, store.now() - 1)
        store.touch()
        return {"count": len(chosen)}


@route("POST", "/tokens/revoke")
def revoke_tokens(app: Emulator, req: Request, _: dict) -> dict:
    data = _json(req)
    store = app.store
    with store.lock:
        chosen = _select_tokens(store, data, access_only=False)
        for tok in chosen:
            tok.revoked = True
        store.touch()
        return {"count": len(chosen)}


@route("POST", "/consents/revoke")
def revoke_consent(app: Emulator, req: Request, _: dict) -> dict:
    """`{"user_id", "client_id"}`, or `{"organization_id", "client_id"}` for an org grant."""
    data = _json(req)
    store = app.store
    with store.lock:
        if data.get("organization_id"):
            key = f"{data['organization_id']}|{data['client_id']}"
            removed = store.org_consents.pop(key, None)
        else:
            removed = store.consents.pop(f"{data['user_id']}|{data['client_id']}", None)
        store.touch()
        return {"revoked": sorted(removed or [])}


@route("POST", "/consents/grant")
def grant_consent(app: Emulator, req: Request, _: dict) -> dict:
    data = _json(req)
    scopes = data.get("scopes") or ["signature", "impersonation"]
    store = app.store
    with store.lock:
        if data.get("organization_id"):
            if data["organization_id"] not in store.organizations:
                raise ControlError(f"unknown organization {data['organization_id']}", status=404)
            store.grant_org_consent(data["organization_id"], data["client_id"], scopes)
            return {
                "scopes": sorted(
                    store.org_consents[f"{data['organization_id']}|{data['client_id']}"]
                )
            }
        store.grant_consent(data["user_id"], data["client_id"], scopes)
        return {"scopes": sorted(store.consents[f"{data['user_id']}|{data['client_id']}"])}
