"""Watching a host's links through netlink: when an interface came, went, or lost carrier.

The kernel announces every link change on RTNLGRP_LINK; a thread reads those
announcements as they come, so the times are the kernel's order of events,
not a poll's guess. The runner uses it to say, from the client's own kernel,
when its tunnel interface was up and when its uplink had carrier.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from dataclasses import dataclass

from pyroute2.netlink.rtnl import (
    RTMGRP_IPV4_IFADDR,
    RTMGRP_IPV6_IFADDR,
    RTMGRP_IPV6_ROUTE,
    RTMGRP_LINK,
)
from pyroute2.netlink.rtnl.marshal import MarshalRtnl

from netns.facts import IFF_LOWER_UP
from netns.namespaces import socket_in

_NETLINK_ROUTE = 0
_IFF_UP = 0x1


# Every announcement a lab waits on: links, addresses, IPv6 routes (SLAAC).
LAB_GROUPS = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE


class NetlinkWakeup:
    """Readable when one namespace's kernel announces a change: a `wait.until` wake.

    Use in a with block, opened before the state is first checked.
    """

    def __init__(self, namespace: str, groups: int = LAB_GROUPS) -> None:
        self._sock = socket_in(namespace, socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_ROUTE)
        self._sock.bind((0, groups))
        self._sock.setblocking(False)

    def fileno(self) -> int:
        return self._sock.fileno()

    def drain(self) -> None:
        """Read what was announced; the caller re-checks the state itself."""
        while True:
            try:
                self._sock.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError:  # ENOBUFS: announcements were lost, so re-check anyway
                return

    def __enter__(self) -> NetlinkWakeup:
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


@dataclass(frozen=True)
class LinkChange:
    t: float  # epoch seconds, when this process read the kernel's announcement
    ifname: str
    state: str  # "up" (administratively up with carrier), "down", or "gone"


class LinkMonitor:
    """Records when each named interface of one namespace goes up, and when it stops being up."""

    def __init__(self, namespace: str, interfaces: tuple[str, ...]) -> None:
        self.interfaces = interfaces
        self.changes: list[LinkChange] = []
        self._state: dict[str, str] = {}
        self._sock = socket_in(namespace, socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_ROUTE)
        self._sock.bind((0, RTMGRP_LINK))
        self._stop_read, self._stop_write = os.pipe()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def start(self) -> LinkMonitor:
        self._thread.start()
        return self

    def stop(self) -> list[LinkChange]:
        """Stop reading; every change seen, in order."""
        os.write(self._stop_write, b"x")
        self._thread.join(timeout=5)
        for fd in (self._stop_read, self._stop_write):
            os.close(fd)
        self._sock.close()
        return list(self.changes)

    def _read(self) -> None:
        marshal = MarshalRtnl()
        while True:
            ready, _, _ = select.select([self._sock, self._stop_read], [], [])
            if self._stop_read in ready:
                return
            data = self._sock.recv(1 << 16)
            now = time.time()
            for msg in marshal.parse(data):
                name = msg.get_attr("IFLA_IFNAME")
                if name not in self.interfaces:
                    continue
                if msg["event"] == "RTM_DELLINK":
                    state = "gone"
                else:
                    up = msg["flags"] & _IFF_UP and msg["flags"] & IFF_LOWER_UP
                    state = "up" if up else "down"
                before = self._state.get(name)
                self._state[name] = state
                # Only going up, and going from up: an interface is created down
                # and then set up, and one that goes down is then deleted.
                if (state == "up") != (before == "up"):
                    self.changes.append(LinkChange(now, name, state))
