"""URL secrets (invite tokens, OAuth codes and states) never reach a log line: gunicorn's access
log and every Django log handler mask them."""

import logging
from datetime import timedelta
from types import SimpleNamespace

from gunicorn.config import Config

from common.logmask import MaskedGunicornLogger, UrlSecretsLogFilter, url_mask

TOKEN = "eyJ0IjozLCJuIjoiQUJDIn0:1tXyZa:Zm9vYmFyYmF6cXV4"


def test_invite_tokens_and_oauth_secrets_are_masked_but_fixed_pages_kept():
    assert url_mask(f"GET /consent/{TOKEN}/ HTTP/1.1") == "GET /consent/[masked]/ HTTP/1.1"
    assert url_mask(f"/consent/{TOKEN}/start/") == "/consent/[masked]/start/"
    assert (
        url_mask("/consent/callback/?code=abc123&state=s3cr3t&other=1")
        == "/consent/callback/?code=[masked]&state=[masked]&other=1"
    )
    assert url_mask("/consent/done/") == "/consent/done/"
    assert url_mask("/consent/choose-account/?x=1") == "/consent/choose-account/?x=1"
    assert url_mask("/tenants/?q=acme&sort=name") == "/tenants/?q=acme&sort=name"


def test_gunicorn_access_line_is_masked(capsys):
    config = Config()
    config.set("accesslog", "-")
    logger = MaskedGunicornLogger(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/consent/{TOKEN}/?state=abc",
        "PATH_INFO": f"/consent/{TOKEN}/",
        "QUERY_STRING": "state=abc",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": f"http://portal.example/consent/{TOKEN}/",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    request = SimpleNamespace(headers=[("USER-AGENT", "test")])
    logger.access(response, request, environ, timedelta(milliseconds=5))
    for handler in logger.access_log.handlers:
        handler.flush()
    line = capsys.readouterr().out
    assert TOKEN not in line
    assert "abc" not in line
    assert '"GET /consent/[masked]/?state=[masked] HTTP/1.1" 200' in line


def test_django_log_lines_are_masked():
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Not Found: %s",
        (f"/consent/{TOKEN}/",),
        None,
    )
    assert UrlSecretsLogFilter().filter(record)
    assert record.getMessage() == "Not Found: /consent/[masked]/"
