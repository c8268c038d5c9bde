"""Triggers: the events under test, each built from the verbs of a running case.

A trigger is a generator over a `CaseRun`: it marks itself (`run.trigger`),
acts, and at every `yield` the runner makes the client's applications send
their probes, so that application traffic is on the wire at the moments a
kill switch is weakest (right after the event, before a slow watcher can
react, before a frozen client wakes). The stream runs all the while, and
after the last act the case keeps watching for its settle window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from conformance import attack_triggers, lan_triggers

if TYPE_CHECKING:
    from conformance.case_run import CaseRun

Trigger = Callable[["CaseRun"], Iterator[None]]

# How long the VPN server stays silent before the case looks again: long enough
# for a client that tears its tunnel down on a dead peer to have done so.
SERVER_SILENCE = 3.0


def steady(run: CaseRun) -> Iterator[None]:
    run.trigger("nothing happens: the tunnel is up")
    yield


def crash_client(run: CaseRun) -> Iterator[None]:
    run.trigger("the VPN client dies")
    run.crash_client()
    yield


def crash_tunnel(run: CaseRun) -> Iterator[None]:
    run.trigger("the tunnel's process dies")
    run.crash_tunnel()
    yield


def crash_everything(run: CaseRun) -> Iterator[None]:
    run.trigger("every process of the subject dies")
    run.crash_everything()
    yield


def tunnel_removed(run: CaseRun) -> Iterator[None]:
    run.trigger("the tunnel interface is deleted")
    run.remove_tunnel_interface()
    yield


def server_unreachable(run: CaseRun) -> Iterator[None]:
    run.trigger("the VPN server stops answering")
    run.silence_server()
    yield
    run.wait(SERVER_SILENCE, f"the server stays silent {SERVER_SILENCE:g} s")
    yield


def disconnect(run: CaseRun) -> Iterator[None]:
    run.trigger("the user disconnects")
    run.disconnect()
    yield


def wifi_reconnect(run: CaseRun) -> Iterator[None]:
    run.trigger("Wi-Fi lost")
    run.carrier(False)
    run.carrier(True)
    yield
    run.renew_lease()
    yield


def sleep_wake(run: CaseRun) -> Iterator[None]:
    run.trigger("sleep: the VPN client is frozen, the link drops")
    run.freeze()
    run.carrier(False)
    run.carrier(True)
    run.renew_lease()
    yield
    run.thaw()
    run.event("link", "wake: the VPN client runs again")
    yield


def adapter_reset(run: CaseRun) -> Iterator[None]:
    run.trigger("the network adapter resets")
    run.reset_adapter()
    yield


def router_reboot(run: CaseRun) -> Iterator[None]:
    run.trigger("the router reboots")
    run.reboot_router()
    yield


def roam(run: CaseRun) -> Iterator[None]:
    run.trigger("roam to another network")
    run.roam("lan2")
    yield


def routes_rewritten(run: CaseRun) -> Iterator[None]:
    run.trigger("another program rewrites the routes")
    run.rewrite_routes()
    yield


def option121(run: CaseRun) -> Iterator[None]:
    run.trigger("the DHCP server pushes option 121 routes")
    run.push_option121(["0.0.0.0/1", "128.0.0.0/1", "203.0.113.0/24"])
    yield


def reboot(run: CaseRun) -> Iterator[None]:
    run.trigger("the computer reboots")
    run.reboot_client()
    run.boot()
    yield
    run.connect()
    yield


def ipv6_announced(run: CaseRun) -> Iterator[None]:
    run.trigger("the router starts announcing IPv6")
    run.announce_ipv6()
    yield


TRIGGERS: dict[str, Trigger] = (
    {
        fn.__name__: fn
        for fn in (
            steady,
            crash_client,
            crash_tunnel,
            crash_everything,
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
    | attack_triggers.TRIGGERS
    | lan_triggers.TRIGGERS
)
