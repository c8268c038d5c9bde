"""Waiting for a state of the lab to be reached, with a deadline.

Where the kernel offers no event we can block on from here, a state is
re-checked with a short, growing delay until it holds or the deadline passes;
the deadline failing is an error naming the state, never a silent pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from netns.errors import LabError

T = TypeVar("T")


def until(what: str, check: Callable[[], T], timeout: float = 10.0) -> T:
    """Return check()'s first truthy value; LabError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise LabError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
