"""Plain helpers shared by tests in several areas (`from tests.helpers import ...`).

Fixtures live in the conftest files; this module holds ordinary functions a test calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    cond: Callable[[], T], timeout: float = 30.0, interval: float = 0.05, what: str = "condition"
) -> T:
    """Poll until `cond()` is truthy and return that value. Timeouts are generous on purpose:
    the machine is shared, so a test waits for a condition instead of sleeping a fixed time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout}s")
