"""PKCE (RFC 7636) with the S256 method, the only one DocuSign's SDKs send (API.md 1.2)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field

# RFC 7636 4.1: 43 to 128 characters from the unreserved set.
_VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_VERIFIER_BYTES = 64  # token_urlsafe(64) gives 86 characters, well inside 43..128


@dataclass(frozen=True)
class Pkce:
    """The verifier (kept server-side until the code exchange) and its challenge (in the URL)."""

    verifier: str = field(repr=False)
    challenge: str
    method: str = "S256"


def code_challenge(verifier: str) -> str:
    """base64url(SHA-256(verifier)) without ``=`` padding."""
    if not _VERIFIER_RE.match(verifier):
        raise ValueError("a PKCE verifier is 43-128 characters of [A-Za-z0-9-._~]")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_pkce() -> Pkce:
    """A fresh verifier from ``secrets`` and its S256 challenge."""
    verifier = secrets.token_urlsafe(_VERIFIER_BYTES)
    return Pkce(verifier=verifier, challenge=code_challenge(verifier))
