"""Triggers: the events under test, each built from the lab's primitives.

A trigger is a generator over a running case: it acts, and at every `yield`
the runner makes the client's applications send their probes, so traffic is
on the wire at the moments a kill switch is weakest (right after the event,
before a slow watcher can react, before a frozen client wakes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.runner import CaseRun

Trigger = Callable[["CaseRun"], Iterator[None]]

# The routes a third-party program or a rogue DHCP server claims: together they
# beat any default route, the VPN's included (TunnelVision uses the same trick).
SPLIT_DEFAULT = ["0.0.0.0/1", "128.0.0.0/1"]
# How long the VPN server stays silent before the case looks again: long enough
# for a client that tears its tunnel down on a dead peer to have done so.
SERVER_SILENCE = 3.0


def connected(run: CaseRun) -> Iterator[None]:
    """Nothing happens: the tunnel is up."""
    yield


def crash(run: CaseRun) -> Iterator[None]:
    run.crash()
    yield


def tunnel_removed(run: CaseRun) -> Iterator[None]:
    run.mark("tunnel interface deleted")
    run.lab.client.run("ip link del %s", run.lab.tunnel.interface)
    yield


def server_unreachable(run: CaseRun) -> Iterator[None]:
    run.mark("VPN server stops answering")
    run.lab.vpn_unreachable(True)
    yield
    run.wait(SERVER_SILENCE)
    yield


def disconnect(run: CaseRun) -> Iterator[None]:
    run.hook("disconnect")
    yield


def wifi_reconnect(run: CaseRun) -> Iterator[None]:
    run.mark("Wi-Fi lost")
    run.lab.carrier(False)
    run.mark("Wi-Fi back")
    run.lab.carrier(True)
    yield
    run.lab.dhcp.renew()
    run.mark("DHCP lease renewed")
    yield


def sleep_wake(run: CaseRun) -> Iterator[None]:
    run.mark("sleep: the VPN client is frozen, the link drops")
    run.lab.freeze_subject()
    run.lab.carrier(False)
    run.mark("wake: the link comes back before the VPN client runs")
    run.lab.carrier(True)
    run.lab.dhcp.renew()
    yield
    run.lab.thaw_subject()
    run.mark("the VPN client runs again")
    yield


def adapter_reset(run: CaseRun) -> Iterator[None]:
    run.mark("adapter reset")
    run.lab.adapter_reset()
    yield


def router_reboot(run: CaseRun) -> Iterator[None]:
    run.mark("router reboots")
    run.lab.router_reboot()
    yield


def roam(run: CaseRun) -> Iterator[None]:
    run.mark("roam to another network")
    run.lab.roam("lan2")
    yield


def routes_rewritten(run: CaseRun) -> Iterator[None]:
    run.mark("another program rewrites the routes")
    run.lab.inject_routes(SPLIT_DEFAULT)
    run.lab.delete_routes(run.lab.tunnel.interface)
    yield


def option121(run: CaseRun) -> Iterator[None]:
    run.mark("DHCP server pushes option 121 routes")
    run.lab.push_option121([*SPLIT_DEFAULT, "203.0.113.0/24"])
    yield


def reboot(run: CaseRun) -> Iterator[None]:
    run.mark("reboot")
    run.lab.client_reboot()
    run.boot()
    run.mark("link up, before the VPN connects")
    yield
    run.hook("connect")
    run.mark("connected")
    yield


def ipv6_announced(run: CaseRun) -> Iterator[None]:
    run.mark("router starts announcing IPv6")
    address = run.lab.set_ipv6(True)
    run.mark(f"the client took {address}" if address else "the client took no IPv6 address")
    yield


TRIGGERS: dict[str, Trigger] = {
    fn.__name__: fn
    for fn in (
        connected,
        crash,
        tunnel_removed,
        server_unreachable,
        disconnect,
        wifi_reconnect,
        sleep_wake,
        adapter_reset,
        router_reboot,
        roam,
        routes_rewritten,
        option121,
        reboot,
        ipv6_announced,
    )
}
