"""Waiting for a state of the lab to be reached, with a deadline: the lab's one
wait primitive (a daemon's log line, the capture's sentinel, a link's state, a
lease all wait through it).

A state is checked, and checked again each time its `wake` source says
something changed: netlink announcements for links, addresses and routes
(`netns.monitor.NetlinkWakeup`), a cgroup's events file, a pidfd, a pipe.
Where nothing announces the change (a file another process writes), it is
re-checked with a short, growing delay. Either way the deadline failing is an
error naming the state, never a silent pass.
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from netns.errors import LabError

T = TypeVar("T")


class Wake(Protocol):
    """Something that becomes readable when the state may have changed."""

    def fileno(self) -> int: ...

    def drain(self) -> None: ...


def until(
    what: str, check: Callable[[], T], timeout: float = 10.0, *, wake: Wake | None = None
) -> T:
    """Return check()'s first truthy value; LabError naming `what` after `timeout`.

    With `wake` (opened before the first check, so no change is missed), each
    re-check waits for it to announce a change; without, for a growing delay.
    """
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        value = check()
        if value:
            return value
        left = deadline - time.monotonic()
        if left < 0:
            raise LabError(f"timed out after {timeout:g}s waiting for {what}")
        if wake is None:
            time.sleep(min(delay, left))
            delay = min(delay * 2, 0.05)
        elif select.select([wake], [], [], left)[0]:
            wake.drain()
