"""A socket inside a lab's network namespace, made without a fork.

pyroute2 makes a socket in another namespace by forking a child that enters
it (`pyroute2.netns.create_socket`): tens of milliseconds on these machines,
and a case opens a dozen (each host's netlink socket, every event wait, the
sentinel's packet socket). setns(2) into a network namespace moves only the
calling thread, so a short-lived thread enters it, makes the socket and ends:
the socket stays in that namespace, and no other thread of the process ever
leaves its own.
"""

from __future__ import annotations

import socket
import threading

from pyroute2.netns import setns


def socket_in(namespace: str, family: int, kind: int, proto: int = 0) -> socket.socket:
    """socket(family, kind, proto) made inside `namespace` (a name under /run/netns)."""
    made: list[socket.socket] = []
    failed: list[BaseException] = []

    def enter_and_make() -> None:
        try:
            setns(namespace, flags=0, fork=False)  # flags=0: never create the namespace
            made.append(socket.socket(family, kind, proto))
        except BaseException as exc:  # re-raised in the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=enter_and_make, name=f"socket in {namespace}")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return made[0]
