"""Waiting for a state of the lab to be reached, with a deadline: the lab's one
wait primitive (a daemon's log line, the capture's sentinel, a link's state, a
lease all wait through it).

Where the kernel or a daemon offers an event we can block on from here, the
lab waits on that instead (a cgroup's events file, a pidfd, a pipe); where it
does not (a file another process writes, a state read by netlink), a state is
re-checked with a short, growing delay until it holds or the deadline passes.
The deadline failing is an error naming the state, never a silent pass.
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
