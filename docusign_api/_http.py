"""The request core every resource group goes through: send, time, log, classify, retry.

Retry rules (the README has the long form):

* only calls marked ``idempotent`` (GET, PUT, DELETE) are retried, and only on
  ``DocuSignUnavailable`` (5xx, timeouts, connection errors, non-JSON bodies), with exponential
  backoff and jitter, ``RetryPolicy.max_attempts`` attempts in all;
* POST (create) and every ``/oauth/token`` call are sent exactly once: a refresh retried after
  DocuSign rotated the refresh token would burn the new one (API.md 1.4);
* a rate-limit error is raised at once as ``DocuSignRateLimited``, unless the call is idempotent
  and the limit resets within ``RetryPolicy.max_rate_limit_wait`` seconds: then it waits and
  retries once.

Logging never carries a header, a request body or a query string: method, scheme://host/path,
status, elapsed ms and DocuSign's trace token, nothing else. An ``observer`` (say, metrics) hears
of every attempt as a ``CallObserved``: method, the endpoint's template (never an id), the status
and the seconds it took.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests

from .errors import (
    DocuSignProtocolError,
    DocuSignRateLimited,
    DocuSignUnavailable,
    error_from_body,
)
from .models import RateLimitStatus

logger = logging.getLogger("docusign_api")

Clock = Callable[[], datetime]
Timeout = float | tuple[float, float]

# DocuSign sends no burst-reset header (API.md 4); the burst window is 30 seconds.
_BURST_WINDOW_S = 30.0
_BURST_CODE = "BURST_APIINVOCATION_LIMIT_EXCEEDED"
_system_random = random.SystemRandom()


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CallObserved:
    """One HTTP attempt, for an observer: ``endpoint`` is the path template (``/oauth/token``,
    ``/restapi/v2.1/accounts/{accountId}/connect/{connectId}``); ``status`` the HTTP status, or
    ``timeout`` / ``connection_error`` when no response came."""

    method: str
    endpoint: str
    status: str
    seconds: float


Observer = Callable[[CallObserved], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How idempotent calls are retried. Inject ``sleep`` (and ``jitter``) to make tests instant.

    ``max_rate_limit_wait``: when an idempotent call is rate limited and the limit resets within
    this many seconds, sleep until then and retry once; 0 (the default) never waits.
    """

    max_attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    max_rate_limit_wait: float = 0.0
    jitter: Callable[[float, float], float] = field(default=_system_random.uniform, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def backoff(self, attempt: int) -> float:
        """Delay after failed attempt ``attempt`` (1-based): half fixed, half random ("equal
        jitter"), so concurrent workers spread out but every retry still waits."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return ceiling / 2 + self.jitter(0, ceiling / 2)


def loggable_url(url: str) -> str:
    """scheme://host/path: the query string (``/oauth/auth`` carries state and challenge there)
    and any userinfo are dropped."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class HttpCore:
    """Shared by every API object of one ``DocuSignClient``; safe to use from many threads."""

    def __init__(
        self,
        *,
        session: requests.Session,
        timeout: Timeout,
        retry: RetryPolicy,
        ca_bundle: str | None,
        clock: Clock,
        observer: Observer | None = None,
    ) -> None:
        self.session = session
        self.timeout = timeout
        self.retry = retry
        self.clock = clock
        self.observer = observer
        # A CA bundle path, or True for the system/certifi store. Passed per request so the
        # injected session's own settings are never mutated.
        self.verify: str | bool = ca_bundle or True
        self._rate_limits: dict[str, RateLimitStatus] = {}
        self._rate_limits_lock = threading.Lock()

    def rate_limits(self, account_id: str) -> RateLimitStatus | None:
        with self._rate_limits_lock:
            return self._rate_limits.get(account_id)

    def request(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        idempotent: bool,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        json_body: Any = None,
        account_id: str | None = None,
        secrets: Iterable[str] = (),
        expect_body: bool = True,
    ) -> Any:
        """Send with the retry policy; return the parsed JSON (None if ``expect_body`` is false).

        ``endpoint`` is the URL's path template for the observer; ``secrets`` are scrubbed from
        any error message DocuSign might echo them in.
        """
        secrets = tuple(secrets)
        max_attempts = self.retry.max_attempts if idempotent else 1
        waited_for_rate_limit = False
        attempt = 1
        while True:
            try:
                return self._send_once(
                    method,
                    url,
                    endpoint=endpoint,
                    headers=headers,
                    params=params,
                    form=form,
                    json_body=json_body,
                    account_id=account_id,
                    secrets=secrets,
                    expect_body=expect_body,
                )
            except DocuSignRateLimited as exc:
                wait = exc.retry_after
                if (
                    not idempotent
                    or waited_for_rate_limit
                    or wait is None
                    or wait > self.retry.max_rate_limit_wait
                ):
                    raise
                waited_for_rate_limit = True
                logger.warning(
                    "%s %s rate limited (%s); waiting %.1fs for the reset, then retrying once",
                    method,
                    loggable_url(url),
                    exc.error_code,
                    wait,
                )
                self.retry.sleep(wait)
            except DocuSignUnavailable as exc:
                if attempt >= max_attempts:
                    raise
                delay = self.retry.backoff(attempt)
                logger.warning(
                    "%s %s failed (%s); retry %d/%d in %.2fs",
                    method,
                    loggable_url(url),
                    exc.error_code or exc.status or type(exc).__name__,
                    attempt,
                    max_attempts - 1,
                    delay,
                )
                self.retry.sleep(delay)
                attempt += 1

    def _send_once(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        form: Mapping[str, str] | None,
        json_body: Any,
        account_id: str | None,
        secrets: tuple[str, ...],
        expect_body: bool,
    ) -> Any:
        log_url = loggable_url(url)
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                headers=dict(headers or {}),
                params=params,
                data=form,
                json=json_body,
                timeout=self.timeout,
                verify=self.verify,
                # A redirect from an API endpoint is never expected; following one could carry
                # the Authorization header somewhere else.
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            elapsed_ms = (time.monotonic() - started) * 1000
            # The exception's own text is not logged: it is urllib3's, and may quote the URL.
            reason = "timed out" if isinstance(exc, requests.Timeout) else type(exc).__name__
            logger.warning("%s %s -> %s after %.0f ms", method, log_url, reason, elapsed_ms)
            failure = "timeout" if isinstance(exc, requests.Timeout) else "connection_error"
            self._observe(method, endpoint, failure, elapsed_ms / 1000)
            raise DocuSignUnavailable(f"{method} {log_url}: {reason}") from exc

        elapsed_ms = (time.monotonic() - started) * 1000
        self._observe(method, endpoint, str(response.status_code), elapsed_ms / 1000)
        trace_token = response.headers.get("X-DocuSign-TraceToken")
        logger.debug(
            "%s %s -> %s in %.0f ms trace=%s",
            method,
            log_url,
            response.status_code,
            elapsed_ms,
            trace_token,
        )
        seen_at = self.clock()
        if account_id is not None:
            self._record_rate_limits(account_id, response.headers, seen_at)

        body = _json_or_none(response)
        status = response.status_code
        if 200 <= status < 300:
            if not expect_body:
                return None
            if body is None:
                raise DocuSignProtocolError(
                    f"{method} {log_url}: HTTP {status} without a JSON body "
                    f"({response.headers.get('Content-Type', 'no content type')})",
                    status=status,
                    trace_token=trace_token,
                )
            return body
        if 300 <= status < 400:
            raise DocuSignProtocolError(
                f"{method} {log_url}: unexpected redirect", status=status, trace_token=trace_token
            )
        reset_at, retry_after = _rate_limit_timing(response.headers, body, seen_at)
        error = error_from_body(
            status,
            body,
            trace_token=trace_token,
            secrets=secrets,
            reset_at=reset_at,
            retry_after=retry_after,
        )
        logger.info(
            "%s %s -> %s %s trace=%s",
            method,
            log_url,
            status,
            error.error_code or type(error).__name__,
            trace_token,
        )
        raise error

    def _observe(self, method: str, endpoint: str, status: str, seconds: float) -> None:
        if self.observer is None:
            return
        try:
            self.observer(CallObserved(method, endpoint, status, seconds))
        except Exception:
            # Observing must never change a call's outcome.
            logger.exception("the DocuSign call observer failed")

    def _record_rate_limits(
        self, account_id: str, headers: Mapping[str, str], seen_at: datetime
    ) -> None:
        reset = _int_header(headers, "X-RateLimit-Reset")
        status = RateLimitStatus(
            limit=_int_header(headers, "X-RateLimit-Limit"),
            remaining=_int_header(headers, "X-RateLimit-Remaining"),
            reset_at=datetime.fromtimestamp(reset, UTC) if reset is not None else None,
            burst_limit=_int_header(headers, "X-BurstLimit-Limit"),
            burst_remaining=_int_header(headers, "X-BurstLimit-Remaining"),
            seen_at=seen_at,
        )
        if status.limit is None and status.remaining is None and status.burst_remaining is None:
            return
        with self._rate_limits_lock:
            previous = self._rate_limits.get(account_id)
            if (
                previous is not None
                and previous.reset_at == status.reset_at
                and previous.remaining is not None
                and status.remaining is not None
                and previous.remaining < status.remaining
            ):
                # Concurrent responses can arrive out of order; within one hourly window the
                # budget only shrinks, so keep the lower count rather than a stale higher one.
                status = replace(status, remaining=previous.remaining)
            self._rate_limits[account_id] = status


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict | list) else None


def _rate_limit_timing(
    headers: Mapping[str, str], body: Any, now: datetime
) -> tuple[datetime | None, float | None]:
    """When the limit lifts: ``Retry-After`` if sent; for the burst limit, the 30 s window (the
    hourly ``X-RateLimit-Reset`` says nothing about it); else ``X-RateLimit-Reset``."""
    retry_after_header = headers.get("Retry-After")
    if retry_after_header is not None:
        try:
            seconds = max(0.0, float(retry_after_header))
        except ValueError:
            pass
        else:
            return now + timedelta(seconds=seconds), seconds
    code = str(body.get("errorCode") or "").upper() if isinstance(body, dict) else ""
    if code == _BURST_CODE:
        return now + timedelta(seconds=_BURST_WINDOW_S), _BURST_WINDOW_S
    reset = _int_header(headers, "X-RateLimit-Reset")
    if reset is None:
        return None, None
    reset_at = datetime.fromtimestamp(reset, UTC)
    return reset_at, max(0.0, (reset_at - now).total_seconds())
