"""Triggers of the attacks published since the seed (issue 13, part B), as
`conformance.triggers` builds them: generators over a `CaseRun` that mark
themselves once, act through its verbs, and yield where the probes run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.case_run import CaseRun

# How long a client may try to reach a server that refuses it before the lab
# stops it: long enough for clients that give up on a refusal (a TLS error, no
# handshake) to have done so.
CONNECT_ATTEMPT = 6.0
# How long after each connect the user cancels it, before switching servers.
CANCEL_AFTER = (0.05, 0.2, 0.5, 0.1)
# How long another firewall manager holds the xtables lock: past iptables' usual `-w`.
LOCK_HOLD = 4.0


def connect_refused(run: CaseRun) -> Iterator[None]:
    """A reboot, after which the VPN server refuses the client (an expired account, a
    revoked key): it boots, tries to connect, and fails or keeps trying."""
    run.trigger("the computer reboots; the VPN server now refuses the client")
    run.refuse_client()
    run.reboot_client()
    run.boot()
    yield
    run.try_connect(CONNECT_ATTEMPT)
    yield


def service_restart(run: CaseRun) -> Iterator[None]:
    """The service restarts, as `systemctl restart` does; then again, as an upgrade does."""
    run.trigger("the subject's service restarts (SIGTERM, then start)")
    run.stop_service()
    yield
    run.start_service()
    yield
    run.event("hook", "an upgrade replaces the service: stop, new files, start")
    run.stop_service()
    yield
    run.start_service()
    yield


def rapid_switching(run: CaseRun) -> Iterator[None]:
    """Connect, cancel 50-500 ms later, switch to the other server and connect, again."""
    run.trigger("the user cancels and switches servers, again and again")
    for delay in CANCEL_AFTER:
        run.wait(delay, f"cancel {delay * 1000:g} ms after connecting")
        run.disconnect()
        run.switch_server()
        run.connect()
    yield


def firewall_locked(run: CaseRun) -> Iterator[None]:
    """Wi-Fi drops and comes back while another program holds the xtables lock."""
    run.trigger("the xtables lock is held; Wi-Fi lost")
    run.hold_xtables_lock(LOCK_HOLD)
    run.carrier(False)
    run.carrier(True)
    yield
    run.renew_lease()
    yield


def container_crash(run: CaseRun) -> Iterator[None]:
    """A container on the client sends while connected, then after the subject crashes."""
    run.trigger("a container on the client sends through the tunnel")
    yield
    run.crash_everything()
    run.event("hook", "every process of the subject died, the tunnel with them")
    yield


TRIGGERS = {
    fn.__name__: fn
    for fn in (connect_refused, service_restart, rapid_switching, firewall_locked, container_crash)
}
