"""Secrets that travel in URLs never reach a log line: invite tokens in `/consent/<token>/`, and
OAuth codes, states and tokens in query strings. Used by gunicorn's access log (the logger class
below) and by a filter on every Django log handler (settings.LOGGING).

Plain Python on purpose: gunicorn imports the logger class before Django is set up.
"""

import logging
import re

from gunicorn.glogging import Logger

MASK = "[masked]"
# Query parameters whose value is a credential or grants one.
SECRET_PARAMS = (
    "code",
    "state",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "password",
    "secret",
    "signature",
    "key",
    "api_key",
)
# /consent/<signed invite token>/...; the fixed consent pages carry no token.
_CONSENT_TOKEN = re.compile(r"(/consent/)(?!callback/|done/|choose-account/)([^/?#\s\"']+)")
_SECRET_QUERY = re.compile(
    r"([?&;](?:" + "|".join(SECRET_PARAMS) + r")=)[^&;#\s\"']*", re.IGNORECASE
)


def url_mask(text: str) -> str:
    """`text` (a URL, a request line, a whole log message) with every URL secret replaced."""
    if not text or not isinstance(text, str):
        return text
    return _SECRET_QUERY.sub(r"\1" + MASK, _CONSENT_TOKEN.sub(r"\1" + MASK, text))


class UrlSecretsLogFilter(logging.Filter):
    """Masks URL secrets in the finished message (Django's "Not Found: /consent/…" and the like)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = url_mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class MaskedGunicornLogger(Logger):
    """gunicorn's logger with the request line, path, query and referrer masked in access lines."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: url_mask(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }
