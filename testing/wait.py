"""Waiting in tests without fixed sleeps: poll a condition until it holds or a deadline passes."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T], *, timeout: float, what: str, interval: float = 0.05
) -> T:
    """Call `predicate` until it returns something truthy, and return that; after `timeout`
    seconds fail the test saying what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
