"""The error taxonomy's own rules (the HTTP paths to each class are in the other test modules)."""

from __future__ import annotations

import pytest

from docusign_api import (
    TERMINAL_TOKEN_ERRORS,
    DocuSignAuthError,
    DocuSignClient,
    DocuSignConsentRequired,
    DocuSignError,
    DocuSignInvalidGrant,
    DocuSignNotFound,
    DocuSignPermissionDenied,
    DocuSignRateLimited,
    DocuSignRequestError,
    DocuSignUnavailable,
)
from docusign_api.errors import error_from_body


def oauth(error: str, description: str | None = None) -> dict:
    return {"error": error, "error_description": description or ""}


def rest(code: str) -> dict:
    return {"errorCode": code, "message": "m"}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, oauth("consent_required"), DocuSignConsentRequired),
        (400, oauth("invalid_grant", "user_not_found"), DocuSignInvalidGrant),
        (400, oauth("invalid_grant", "unauthorized_client"), DocuSignAuthError),
        (400, oauth("unauthorized_client"), DocuSignAuthError),
        (400, oauth("invalid_grant", "unsupported_grant_type"), DocuSignRequestError),
        (401, rest("AUTHORIZATION_INVALID_TOKEN"), DocuSignAuthError),
        (403, rest("USER_LACKS_PERMISSIONS"), DocuSignPermissionDenied),
        (404, rest("INVALID_CONNECT_CONFIGURATION_ID"), DocuSignNotFound),
        (400, rest("INVALID_REQUEST_PARAMETER"), DocuSignRequestError),
        (400, rest("HOURLY_APIINVOCATION_LIMIT_EXCEEDED"), DocuSignRateLimited),
        (400, rest("Hourly_Envelope_Polling_Limit_Exceeded"), DocuSignRateLimited),
        (429, rest("BURST_APIINVOCATION_LIMIT_EXCEEDED"), DocuSignRateLimited),
        (429, None, DocuSignRateLimited),
        (503, rest("SERVICE_UNAVAILABLE"), DocuSignUnavailable),
        (502, None, DocuSignUnavailable),
        (400, None, DocuSignUnavailable),  # an HTML error page from something in between
        (404, None, DocuSignNotFound),
    ],
)
def test_classification(status, body, expected):
    error = error_from_body(status, body)

    assert type(error) is expected
    assert error.status == status


def test_terminal_errors_need_a_human_and_transient_ones_do_not():
    assert error_from_body(400, {"error": "consent_required"}).is_terminal
    assert error_from_body(400, {"error": "invalid_grant", "error_description": "x"}).is_terminal
    assert not error_from_body(401, {"errorCode": "AUTHORIZATION_INVALID_TOKEN"}).is_terminal
    assert not error_from_body(503, None).is_terminal
    assert DocuSignClient.TERMINAL_TOKEN_ERRORS == TERMINAL_TOKEN_ERRORS
    assert {"invalid_grant", "consent_required", "unauthorized_client"} <= set(
        TERMINAL_TOKEN_ERRORS
    )


def test_an_echoed_secret_is_scrubbed_from_the_message():
    token = "eyJ0eXAi.super-secret-token.sig"

    error = error_from_body(
        400, {"errorCode": "X", "message": f"bad token {token}"}, secrets=[token]
    )

    assert token not in str(error)
    assert token not in repr(error)
    assert "[redacted]" in error.message


def test_str_and_repr_carry_status_code_and_message():
    error = DocuSignError("boom", status=418, error_code="TEAPOT")

    assert str(error) == "418 TEAPOT: boom"
    assert repr(error) == "DocuSignError(status=418, error_code='TEAPOT', message='boom')"
    assert str(DocuSignUnavailable("down")) == "no response: down"


@pytest.mark.parametrize(
    "url",
    ["account-d.docusign.com", "ftp://account-d.docusign.com", "https://a.example/oauth",
     "https://user@account-d.docusign.com", "https://account-d.docusign.com?x=1"],
)  # fmt: skip
def test_auth_base_url_must_be_a_bare_origin(url):
    with pytest.raises(ValueError, match="auth_base_url"):
        DocuSignClient(auth_base_url=url)


def test_auth_base_url_trailing_slash_is_dropped():
    client = DocuSignClient(auth_base_url="https://account-d.docusign.com/")

    assert client.auth_base_url == "https://account-d.docusign.com"
    assert client.oauth.auth_host == "account-d.docusign.com"
