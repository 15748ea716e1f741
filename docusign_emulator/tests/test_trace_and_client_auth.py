"""`X-DocuSign-TraceToken` on every response, and the two forms of Basic client credentials."""

from __future__ import annotations

import base64
import uuid
from urllib.parse import quote_plus

import pytest

from docusign_emulator.testing import (
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_REDIRECT_URI,
)
from docusign_emulator.tests.conftest import bearer, connect_url, web

TRACE = "X-DocuSign-TraceToken"


def trace_of(resp) -> uuid.UUID:
    values = [v for k, v in resp.raw.headers.items() if k.lower() == TRACE.lower()]
    assert len(values) == 1, f"{resp.request.method} {resp.url}: {values}"
    return uuid.UUID(values[0])  # a GUID


def test_every_response_carries_one_trace_token(emulator, emulator_server):
    tokens = emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)
    url = emulator_server.url
    auth = (TEST_CLIENT_ID, TEST_CLIENT_SECRET)
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    authorize = {
        "response_type": "code",
        "scope": "signature",
        "client_id": TEST_CLIENT_ID,
        "redirect_uri": TEST_REDIRECT_URI,
    }
    responses = [
        web.post(f"{url}/oauth/token", data=refresh, auth=auth),  # 200
        web.post(f"{url}/oauth/token", data={"grant_type": "nope"}, auth=auth),  # 400
        web.post(f"{url}/oauth/token", data="x", headers={"Content-Type": "text/plain"}),
        web.get(f"{url}/oauth/userinfo", headers=bearer(tokens["access_token"])),  # 200
        web.get(f"{url}/oauth/userinfo"),  # 401
        web.get(f"{url}/oauth/auth", params=authorize),  # HTML sign-in page
        web.get(f"{url}/oauth/auth", params={**authorize, "client_id": "unknown"}),  # error page
        web.get(f"{url}/oauth/nothing"),  # 404
        web.get(connect_url(emulator_server), headers=bearer(tokens["access_token"])),
        web.get(connect_url(emulator_server)),  # 401
        web.get(f"{url}/no/such/path"),  # 404 outside any account
        web.get(f"{url}/_emulator/config"),
    ]
    emulator.fault("POST /oauth/token", kind="html", status=503)
    responses.append(web.post(f"{url}/oauth/token", data=refresh, auth=auth))
    emulator.fault("GET /restapi/connect", kind="status", status=503)
    responses.append(web.get(connect_url(emulator_server), headers=bearer(tokens["access_token"])))
    traces = [trace_of(resp) for resp in responses]
    assert len(set(traces)) == len(traces)  # a fresh one per response


# --- Basic client credentials ------------------------------------------------------------------

SPECIAL_CLIENT_ID = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
SPECIAL_SECRET = "s3c+r%t 50%25/x:y"  # `+`, a bare `%`, a `%25` that is literal, a space, `:`


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")
    return {"Authorization": f"Basic {raw}"}


@pytest.fixture
def special_key(emulator):
    emulator.seed(
        integration_keys=[
            {
                "client_id": SPECIAL_CLIENT_ID,
                "secret": SPECIAL_SECRET,
                "name": "Key with a special secret",
                "redirect_uris": [TEST_REDIRECT_URI],
            }
        ]
    )
    return SPECIAL_CLIENT_ID


def refresh_with(server, emulator, client_id: str, headers: dict[str, str]):
    rt = emulator.issue_tokens(client_id, TEST_ADMIN_USER_ID)["refresh_token"]
    data = {"grant_type": "refresh_token", "refresh_token": rt}
    return web.post(f"{server.url}/oauth/token", data=data, headers=headers)


def test_raw_basic_credentials_as_docusign_sdks_send_them(emulator, emulator_server, special_key):
    resp = refresh_with(emulator_server, emulator, special_key, basic(special_key, SPECIAL_SECRET))
    assert resp.status_code == 200, resp.text


def test_form_encoded_basic_credentials_are_accepted_too(emulator, emulator_server, special_key):
    encoded = basic(quote_plus(special_key), quote_plus(SPECIAL_SECRET))
    assert quote_plus(SPECIAL_SECRET) != SPECIAL_SECRET
    resp = refresh_with(emulator_server, emulator, special_key, encoded)
    assert resp.status_code == 200, resp.text


def test_raw_form_wins_when_the_secret_looks_encoded(emulator, emulator_server):
    # "a%2Bb" decodes to "a+b": the raw form must match as it stands.
    emulator.seed(integration_keys=[{"client_id": SPECIAL_CLIENT_ID, "secret": "a%2Bb"}])
    ok = refresh_with(
        emulator_server, emulator, SPECIAL_CLIENT_ID, basic(SPECIAL_CLIENT_ID, "a%2Bb")
    )
    assert ok.status_code == 200, ok.text
    # And the encoded form of that secret decodes back to it.
    encoded = basic(SPECIAL_CLIENT_ID, quote_plus("a%2Bb"))
    assert refresh_with(emulator_server, emulator, SPECIAL_CLIENT_ID, encoded).status_code == 200
    # "a+b" is neither the secret nor decodes to it.
    wrong = refresh_with(
        emulator_server, emulator, SPECIAL_CLIENT_ID, basic(SPECIAL_CLIENT_ID, "a+b")
    )
    assert wrong.status_code == 400


@pytest.mark.parametrize(
    "secret",
    [
        "s3c+r%t 50%25/x:Y",  # one character off
        "s3c r%t 50%25/x:y",  # `+` read as a space: decoding the raw form must not rescue it
        "s3c%2Br%25t+50%2525%2Fx%3AY",  # encoded, one character off
        "",
    ],
)
def test_wrong_secrets_fail_both_ways(emulator, emulator_server, special_key, secret):
    resp = refresh_with(emulator_server, emulator, special_key, basic(special_key, secret))
    assert resp.status_code == 400
    assert resp.json() == {"error": "invalid_grant", "error_description": "unauthorized_client"}


def test_non_ascii_secret_does_not_crash(emulator, emulator_server, special_key):
    resp = refresh_with(emulator_server, emulator, special_key, basic(special_key, "gé"))
    assert resp.status_code == 400
    assert resp.json()["error_description"] == "unauthorized_client"
