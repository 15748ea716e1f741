"""Fixtures for the client's tests: a client pointed at the emulator, tokens, a consent driver.

Everything talks to the emulator over real HTTP (`docusign_emulator.pytest_plugin`); only
`RetryPolicy.sleep` is replaced, by a recorder, so retry tests run instantly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from docusign_api import ConnectAPI, DocuSignClient, RetryPolicy
from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ACCOUNT_1_SHARD,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    EmulatorControl,
    EmulatorServer,
)


class SleepRecorder(list):
    """Stands in for time.sleep: records each delay instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def no_jitter(low: float, high: float) -> float:
    """The top of the jitter range, so backoff delays are exact in assertions."""
    return high


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def client(
    emulator_server: EmulatorServer, emulator: EmulatorControl, sleeps: SleepRecorder
) -> Iterator[DocuSignClient]:
    session = requests.Session()
    yield DocuSignClient(
        auth_base_url=emulator_server.url,
        session=session,
        timeout=(2, 5),
        retry=RetryPolicy(sleep=sleeps, jitter=no_jitter),
    )
    session.close()


@pytest.fixture
def admin_tokens(emulator: EmulatorControl) -> dict:
    """Tokens of an admin of client accounts 1 and 2, as if they had consented through ACG."""
    return emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)


@pytest.fixture
def account1(
    client: DocuSignClient, emulator_server: EmulatorServer, admin_tokens: dict
) -> ConnectAPI:
    return client.connect(
        base_uri=emulator_server.base_uri(TEST_ACCOUNT_1_SHARD),
        account_id=TEST_ACCOUNT_1_ID,
        access_token=admin_tokens["access_token"],
    )


def _hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def authorize_in_browser(
    auth_url: str, *, email: str, password: str, decision: str = "allow"
) -> dict[str, str]:
    """Drive the emulator's consent page like a browser; return the redirect's query params.

    GET the authorization URL, POST the sign-in form, POST the consent decision (skipped when
    consent is remembered), then read the 302 Location without following it.
    """
    browser = requests.Session()
    action = urljoin(auth_url, "/oauth/auth")
    page = browser.get(auth_url, allow_redirects=False, timeout=5)
    assert page.status_code == 200, page.text
    assert 'name="email"' in page.text
    page = browser.post(
        action,
        data={**_hidden_fields(page.text), "email": email, "password": password},
        allow_redirects=False,
        timeout=5,
    )
    if page.status_code == 200:
        assert 'name="decision" value="allow"' in page.text, page.text
        page = browser.post(
            action,
            data={**_hidden_fields(page.text), "decision": decision},
            allow_redirects=False,
            timeout=5,
        )
    assert page.status_code == 302, page.text
    location = page.headers["Location"]
    browser.close()
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
