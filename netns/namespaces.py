"""Work inside a lab's network namespace without a fork: create it, make a
socket in it, write its sysctls.

pyroute2 does these by forking a child that enters the namespace
(`pyroute2.netns.create`, `create_socket`), and `sysctl` is a program started
through `ip netns exec`: each is ten milliseconds or more on these machines,
and a lab's build needs dozens. setns(2) and unshare(2) of a network
namespace move only the calling thread, so a short-lived thread enters (or
makes) the namespace, does the one thing and ends: a socket stays in the
namespace it was made in, /proc/sys/net is the calling thread's namespace's,
and no other thread of the process ever leaves its own.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from pyroute2 import netns as pyroute2_netns
from pyroute2.netns import setns

from netns.errors import LabError

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _in_thread(name: str, work: Callable[[], T]) -> T:
    """work() in a thread of its own, its result or its exception in the caller's."""
    done: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            done.append(work())
        except BaseException as exc:  # re-raised in the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=run, name=name)
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return done[0]


def _enter(namespace: str) -> None:
    setns(namespace, flags=0, fork=False)  # flags=0: never create the namespace


def socket_in(namespace: str, family: int, kind: int, proto: int = 0) -> socket.socket:
    """socket(family, kind, proto) made inside `namespace` (a name under /run/netns)."""

    def make() -> socket.socket:
        _enter(namespace)
        return socket.socket(family, kind, proto)

    return _in_thread(f"socket in {namespace}", make)


def write_sysctls(namespace: str, settings: Mapping[str, object]) -> None:
    """Set network sysctls (`{"net.ipv4.ip_forward": 1}`) inside `namespace`."""
    for key in settings:
        if not key.startswith("net.") or "/" in key or ".." in key:
            raise LabError(f"not a network sysctl of a namespace: {key!r}")

    def write() -> None:
        _enter(namespace)
        for key, value in settings.items():
            Path("/proc/sys", *key.split(".")).write_text(f"{value}\n")

    _in_thread(f"sysctl in {namespace}", write)


def create(namespace: str) -> None:
    """A new, empty network namespace named `namespace` (under /run/netns), as `ip netns add`."""
    own = os.stat("/proc/self/ns/net").st_ino

    def make() -> None:
        if _libc.unshare(CLONE_NEWNET) != 0:
            reason = os.strerror(ctypes.get_errno())
            raise LabError(f"cannot create namespace {namespace}: {reason}")
        if os.stat("/proc/thread-self/ns/net").st_ino == own:
            raise LabError(f"cannot create namespace {namespace}: the thread did not leave its own")
        # Binds this thread's new namespace (never the process's: 'thread-self').
        pyroute2_netns.attach(namespace, "thread-self")

    _in_thread(f"create {namespace}", make)
