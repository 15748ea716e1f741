"""Request and response values passed between the HTTP server and the handlers."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from email.message import Message
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

JSON_TYPE = "application/json; charset=utf-8"


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Message
    body: bytes = b""
    too_large: bool = False

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def query_params(self) -> dict[str, str]:
        return dict(self.query)

    def cookie(self, name: str) -> str | None:
        raw = self.header("Cookie")
        if not raw:
            return None
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(raw)
        except Exception:
            return None
        morsel = jar.get(name)
        return morsel.value if morsel else None

    def bearer(self) -> str | None:
        value = self.header("Authorization") or ""
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()

    def basic(self) -> tuple[str, str] | None:
        """`Authorization: Basic` credentials, or None. Raises ValueError if malformed."""
        value = self.header("Authorization") or ""
        scheme, _, encoded = value.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError("malformed Basic credentials") from exc
        user, sep, password = decoded.partition(":")
        if not sep:
            raise ValueError("malformed Basic credentials")
        # Raw, as DocuSign's SDKs send them; callers may also try the RFC 6749 2.3.1
        # form-decoded variant (`form_decoded`).
        return user, password

    def form(self) -> dict[str, str]:
        """Parse a urlencoded body. Raises ValueError on malformed or duplicated parameters."""
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError("the body is not valid UTF-8") from exc
        if not text.strip():
            return {}
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
        result: dict[str, str] = {}
        for name, value in pairs:
            if name in result:
                raise ValueError(f"duplicate parameter: {name}")
            result[name] = value
        return result

    def json(self) -> Any:
        """Parse a JSON body. Raises ValueError when it is not JSON."""
        return json.loads(self.body.decode("utf-8"))


def form_decoded(value: str) -> str:
    """RFC 6749 2.3.1: Basic client credentials form-urlencoded before Base64, decoded."""
    return unquote_plus(value)


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False  # send Connection: close
    abort: bool = False  # drop the connection without answering (fault injection)


def json_response(status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":")).encode("utf-8")
    return Response(status=status, body=body, headers=list(headers or []))


def html_response(status: int, html: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(
        status=status,
        body=html.encode("utf-8"),
        content_type="text/html; charset=utf-8",
        headers=list(headers or []),
    )


def redirect(location: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(
        status=302,
        body=b"",
        content_type="text/html; charset=utf-8",
        headers=[("Location", location), *(headers or [])],
    )
