"""Retries, timeouts, malformed bodies and rate limits, driven by the emulator's fault injection."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests

from docusign_api import (
    DocuSignClient,
    DocuSignProtocolError,
    DocuSignRateLimited,
    DocuSignUnavailable,
    RateLimitStatus,
    RetryPolicy,
)
from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ACCOUNT_1_SHARD,
    TEST_ACCOUNT_2_ID,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
)

from .conftest import SleepRecorder, no_jitter
from .test_connect import portal_config

LIST = "GET /restapi/connect"


def rest_calls(emulator, key: str) -> int:
    return emulator.calls().get(key, 0)


# -- retries of idempotent calls ---------------------------------------------------------


def test_get_is_retried_on_503_with_exponential_backoff(account1, emulator, sleeps):
    emulator.fault(LIST, status=503, count=2)

    assert account1.list() == []
    assert rest_calls(emulator, LIST) == 3
    assert sleeps == [pytest.approx(0.2), pytest.approx(0.4)]


def test_retries_are_bounded_by_max_attempts(account1, emulator, sleeps):
    emulator.fault(LIST, status=502, count=10)

    with pytest.raises(DocuSignUnavailable) as caught:
        account1.list()

    assert caught.value.status == 502
    assert rest_calls(emulator, LIST) == 3
    assert len(sleeps) == 2


def test_put_and_delete_are_retried(account1, emulator):
    created = account1.create(portal_config())
    emulator.fault("PUT /restapi/connect", status=503, count=1)
    emulator.fault("DELETE /restapi/connect/{id}", status=500, count=1)

    account1.update(created)
    account1.delete(created.connect_id)

    assert rest_calls(emulator, "PUT /restapi/connect") == 2
    assert rest_calls(emulator, "DELETE /restapi/connect/{id}") == 2


def test_post_create_is_never_retried(account1, emulator, sleeps):
    emulator.fault("POST /restapi/connect", status=503, count=1)

    with pytest.raises(DocuSignUnavailable):
        account1.create(portal_config())

    assert rest_calls(emulator, "POST /restapi/connect") == 1
    assert sleeps == []
    assert emulator.connect_configs(TEST_ACCOUNT_1_ID) == []


def test_a_dropped_connection_is_unavailable_and_retried(account1, emulator, sleeps):
    emulator.fault(LIST, "reset", count=1)

    assert account1.list() == []
    assert len(sleeps) == 1


def test_a_read_timeout_is_unavailable_and_retried(emulator_server, emulator, admin_tokens):
    recorder = SleepRecorder()
    client = DocuSignClient(
        auth_base_url=emulator_server.url,
        session=requests.Session(),
        timeout=(2, 0.3),
        retry=RetryPolicy(max_attempts=2, sleep=recorder),
    )
    api = client.connect(
        base_uri=emulator_server.base_uri(TEST_ACCOUNT_1_SHARD),
        account_id=TEST_ACCOUNT_1_ID,
        access_token=admin_tokens["access_token"],
    )
    emulator.fault(LIST, "timeout", count=2, delay_s=1)

    with pytest.raises(DocuSignUnavailable, match="timed out") as caught:
        api.list()

    assert caught.value.status is None
    assert len(recorder) == 1


def test_html_instead_of_json_on_a_5xx_is_unavailable(account1, emulator):
    emulator.fault(LIST, "html", status=503, count=3)

    with pytest.raises(DocuSignUnavailable) as caught:
        account1.list()

    assert caught.value.status == 503
    assert caught.value.error_code is None
    assert not isinstance(caught.value, DocuSignProtocolError)


def test_html_on_a_200_is_a_protocol_error_and_retried_for_gets(account1, emulator, sleeps):
    emulator.fault(LIST, "html", status=200, count=3)

    with pytest.raises(DocuSignProtocolError) as caught:
        account1.list()

    assert caught.value.status == 200
    assert isinstance(caught.value, DocuSignUnavailable)  # transient for Celery's autoretry
    assert len(sleeps) == 2


def test_html_on_a_200_from_the_token_endpoint_is_a_protocol_error(client, emulator, admin_tokens):
    emulator.fault("POST /oauth/token", "html", status=200, count=1)

    with pytest.raises(DocuSignProtocolError):
        client.oauth.refresh(
            client_id=TEST_CLIENT_ID,
            client_secret="irrelevant",
            refresh_token=admin_tokens["refresh_token"],
        )


def test_backoff_grows_exponentially_up_to_max_delay_with_jitter():
    policy = RetryPolicy(base_delay=1, max_delay=3, jitter=no_jitter)
    jittered = RetryPolicy(base_delay=1, max_delay=3)

    assert [policy.backoff(n) for n in range(1, 6)] == [1, 2, 3, 3, 3]
    for n in range(1, 6):
        ceiling = policy.backoff(n)
        assert ceiling / 2 <= jittered.backoff(n) <= ceiling


def test_retry_policy_needs_at_least_one_attempt():
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


# -- rate limits -------------------------------------------------------------------------


def test_rate_limit_headers_are_kept_per_account(client, account1):
    assert client.rate_limits(TEST_ACCOUNT_1_ID) is None

    account1.list()
    status = client.rate_limits(TEST_ACCOUNT_1_ID)

    assert isinstance(status, RateLimitStatus)
    assert (status.limit, status.remaining) == (3000, 2999)
    assert (status.burst_limit, status.burst_remaining) == (200, 199)
    assert status.reset_at is not None
    assert status.reset_at.minute == status.reset_at.second == 0  # the top of the hour
    assert status.seen_at.tzinfo is not None
    assert client.rate_limits(TEST_ACCOUNT_2_ID) is None


def test_hourly_limit_on_400_is_rate_limited_by_error_code(client, account1, emulator, sleeps):
    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, hourly_remaining=0)

    with pytest.raises(DocuSignRateLimited) as caught:
        account1.list()

    error = caught.value
    assert error.status == 400  # DocuSign's observed status (API.md 4)
    assert error.error_code == "HOURLY_APIINVOCATION_LIMIT_EXCEEDED"
    assert error.reset_at == client.rate_limits(TEST_ACCOUNT_1_ID).reset_at
    expected_wait = (error.reset_at - datetime.now(UTC)).total_seconds()
    assert error.retry_after == pytest.approx(expected_wait, abs=5)
    assert client.rate_limits(TEST_ACCOUNT_1_ID).remaining == 0
    assert sleeps == []  # not worth waiting up to an hour
    assert rest_calls(emulator, LIST) == 1


def test_burst_limit_on_429_is_rate_limited_with_the_burst_window(account1, emulator):
    emulator.config(rate_limit_status=429)
    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, burst_remaining=0)

    with pytest.raises(DocuSignRateLimited) as caught:
        account1.list()

    assert caught.value.status == 429
    assert caught.value.error_code == "BURST_APIINVOCATION_LIMIT_EXCEEDED"
    # No burst-reset header exists (API.md 4): the 30-second window is the wait.
    assert caught.value.retry_after == 30
    assert not caught.value.is_terminal


class EmulatorTime:
    """A client clock and sleep that follow the emulator's clock, so waiting is instant."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.offset = emulator.advance_clock(0)["offset"]
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset = self.emulator.advance_clock(seconds)["offset"]

    def move_to_seconds_before_the_hour(self, seconds: float) -> None:
        now = self.emulator.advance_clock(0)["now"]
        self.sleep((3600 - now % 3600 - seconds) % 3600)
        self.sleeps.clear()


def waiting_client(emulator_server, emulator, max_wait: float):
    clock = EmulatorTime(emulator)
    client = DocuSignClient(
        auth_base_url=emulator_server.url,
        session=requests.Session(),
        retry=RetryPolicy(sleep=clock.sleep, max_rate_limit_wait=max_wait),
        clock=clock.now,
    )
    return client, clock


def account1_api(client, emulator_server, emulator):
    token = emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)["access_token"]
    return client.connect(
        base_uri=emulator_server.base_uri(TEST_ACCOUNT_1_SHARD),
        account_id=TEST_ACCOUNT_1_ID,
        access_token=token,
    )


def test_a_limit_that_resets_within_max_wait_is_waited_out_once(emulator_server, emulator):
    client, clock = waiting_client(emulator_server, emulator, max_wait=10)
    clock.move_to_seconds_before_the_hour(3)
    api = account1_api(client, emulator_server, emulator)
    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, hourly_remaining=0)

    assert api.list() == []
    assert clock.sleeps == [pytest.approx(3, abs=1.5)]
    assert rest_calls(emulator, LIST) == 2


def test_a_limit_that_resets_later_than_max_wait_is_raised_at_once(emulator_server, emulator):
    client, clock = waiting_client(emulator_server, emulator, max_wait=10)
    clock.move_to_seconds_before_the_hour(60)
    api = account1_api(client, emulator_server, emulator)
    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, hourly_remaining=0)

    with pytest.raises(DocuSignRateLimited) as caught:
        api.list()

    assert caught.value.retry_after == pytest.approx(60, abs=1.5)
    assert clock.sleeps == []


def test_a_rate_limited_create_is_not_waited_out(emulator_server, emulator):
    client, clock = waiting_client(emulator_server, emulator, max_wait=10)
    clock.move_to_seconds_before_the_hour(3)
    api = account1_api(client, emulator_server, emulator)
    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, hourly_remaining=0)

    with pytest.raises(DocuSignRateLimited):
        api.create(portal_config())

    assert clock.sleeps == []


# -- concurrency -------------------------------------------------------------------------


def test_one_client_serves_many_threads(client, account1, emulator):
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: account1.list(), range(40)))

    assert results == [[]] * 40
    assert rest_calls(emulator, LIST) == 40
    # Responses may be processed out of order; the budget seen is still the lowest one.
    assert client.rate_limits(TEST_ACCOUNT_1_ID).remaining == 3000 - 40
