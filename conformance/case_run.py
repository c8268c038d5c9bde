"""A case in progress: its lab, its subject, its events, and the verbs triggers use.

Triggers (`conformance.triggers`) act only through these verbs, so that every
act is an event on the case's timeline with its kind:

    boot, hook        the subject's hooks and the client's boot
    tunnel-up/-down   the client's tunnel interface, as its kernel announced it
    trigger           the event under test (every trigger marks itself once)
    link              the network changed (carrier, DHCP, routes, roam, IPv6)
    wait              time passing on purpose (a silent server)
    settle            the watch after the trigger's last act
"""

from __future__ import annotations

import json
import os
import shlex
import time

from conformance import probes
from conformance.cases import Case
from conformance.container_subject import CONTAINER_PATH
from conformance.phases import Phases
from conformance.subject import HOOK_TIMEOUT, HookFailed, HookRun, Subject, run_hook
from netns import home
from netns.container_client import APP_DIR
from netns.errors import LabError
from netns.lab import Lab

# The routes a third-party program or a rogue DHCP server claims: together they
# beat any default route, the VPN's included (TunnelVision uses the same trick).
SPLIT_DEFAULT = ["0.0.0.0/1", "128.0.0.0/1"]


class CaseRun:
    """One case against one subject, from the client's boot to the end of its watch."""

    def __init__(
        self,
        lab: Lab,
        subject: Subject,
        case: Case,
        hook_timeout: float = HOOK_TIMEOUT,
        phases: Phases | None = None,
    ) -> None:
        self.lab = lab
        self.phases = phases or Phases()
        self.subject = subject
        self.case = case
        self.hook_timeout = hook_timeout
        self.t0 = time.time()
        self.events: list[dict] = []
        self.hooks: list[HookRun] = []
        self.probes: list[dict] = []
        self.trigger_at: float | None = None  # epoch seconds
        self.connected_at: float | None = None  # epoch seconds: the connect hook returned

    # ------------------------------------------------------------- record

    def event(self, kind: str, text: str, at: float | None = None) -> None:
        t = (at if at is not None else time.time()) - self.t0
        self.events.append({"t": round(t, 6), "kind": kind, "text": text})

    def trigger(self, text: str) -> None:
        """The event under test starts now."""
        if self.trigger_at is not None:
            raise LabError(f"trigger marked twice ({text})")
        self.trigger_at = time.time()
        self.event("trigger", text, self.trigger_at)

    # ------------------------------------------------------------- subject

    def hook(self, name: str, timeout: float | None = None) -> None:
        self.event("hook", f"{name} hook")
        try:
            self.hooks.append(
                run_hook(
                    self.lab,
                    self.subject,
                    name,
                    timeout or self.hook_timeout,
                    lan_access=self.case.lan_access,
                )
            )
        except HookFailed as failed:
            self.hooks.append(failed.run)
            raise

    def boot(self) -> None:
        """A boot: the subject's boot hook with every link down, then link up and DHCP."""
        self.event("boot", "the client boots")
        if self.subject.has("boot"):
            self.hook("boot")
        self.lab.client_boot()
        self.event("link", "link up, DHCP lease")

    def connect(self) -> None:
        self.hook("connect")
        self.connected_at = time.time()

    def try_connect(self, timeout: float) -> None:
        """The connect hook, to a server that refuses: its failure is the client's error state.

        A hook still trying after `timeout` is stopped with what it started (the
        lab gives up for a client that never does); either way the case goes on.
        """
        try:
            self.hook("connect", timeout)
        except HookFailed as failed:
            self.event("hook", f"connect failed: {failed.run.summary}")

    def disconnect(self) -> None:
        self.hook("disconnect")

    def crash_client(self) -> None:
        """The VPN client dies: its `crash` hook, or what the connect hook left running.

        A crash that kills nothing is not the crash the case is about: ERROR,
        whatever the subject's hook says.
        """
        before = self.lab.subject_pids()
        if self.subject.has("crash"):
            self.hook("crash")
        else:
            self.lab.kill_hook("connect")
        if not before or not self.lab.exited(before, timeout=5):
            raise LabError("the VPN client's crash killed no process of the subject")

    def crash_tunnel(self) -> None:
        """The tunnel's own process dies, found by the lab; the rest of the subject lives."""
        self.lab.kill_tunnel()

    def crash_everything(self) -> None:
        self.lab.kill_subject()

    def freeze(self) -> None:
        self.lab.freeze_subject()

    def thaw(self) -> None:
        self.lab.thaw_subject()

    # ------------------------------------------------------------- network

    def remove_tunnel_interface(self) -> None:
        self.lab.client.run("ip link del %s", self.lab.tunnel.interface)

    def silence_server(self) -> None:
        self.lab.vpn_unreachable(True)

    def carrier(self, up: bool) -> None:
        self.lab.carrier(up)
        self.event("link", "carrier back" if up else "carrier lost")

    def renew_lease(self) -> None:
        self.lab.dhcp.renew()
        self.event("link", "DHCP lease renewed")

    def reset_adapter(self) -> None:
        self.lab.adapter_reset()
        self.event("link", "adapter back up with a new lease")

    def reboot_router(self) -> None:
        self.lab.router_reboot()
        self.event("link", "router back, new lease")

    def roam(self, lan: str) -> None:
        self.lab.roam(lan)
        self.event("link", f"lease on {lan}")

    def rewrite_routes(self) -> None:
        self.lab.inject_routes(SPLIT_DEFAULT)
        deleted = self.lab.delete_routes(self.lab.tunnel.interface)
        self.event("link", f"routes {', '.join(SPLIT_DEFAULT)} added, {deleted} tunnel routes gone")

    def push_option121(self, routes: list[str]) -> None:
        self.lab.push_option121(routes)
        self.event("link", "lease renewed with option 121 routes")

    def announce_ipv6(self) -> None:
        address = self.lab.set_ipv6(True)
        self.event(
            "link", f"the client took {address}" if address else "the client took no IPv6 address"
        )

    def reboot_client(self) -> None:
        self.lab.client_reboot()

    def stop_service(self) -> None:
        """The subject's service is stopped as systemd stops it: SIGTERM, then its exit path."""
        orderly = self.lab.stop_subject()
        self.event(
            "hook",
            "the service stopped (SIGTERM)" if orderly else "the service ignored SIGTERM: killed",
        )

    def start_service(self) -> None:
        """The subject's service starts again: its `start` hook, or its connect hook."""
        self.hook("start" if self.subject.has("start") else "connect")

    def hold_xtables_lock(self, seconds: float) -> None:
        self.lab.hold_xtables_lock(seconds)
        self.event("link", f"another firewall manager holds the xtables lock {seconds:g} s")

    def switch_server(self) -> None:
        """The next hooks are given the other server of the VPN (KS_ENDPOINT_*, the config)."""
        tunnel = self.lab.switch_server()
        self.event("hook", f"the user picks the server at {tunnel.endpoint_ip}")

    def refuse_client(self) -> None:
        self.lab.refuse_client()
        self.event("link", "the VPN server refuses the client from now on")

    # ------------------------------------------------------------- the LAN attacks (issue 13)

    def open_flows(self) -> None:
        """Applications open a TCP and a UDP flow bound to the uplink (before the VPN connects)."""
        outcome = self.lab.start_flows()
        self.event("link", f"flows bound to the uplink opened: {outcome}")

    def announce_rdnss(self) -> None:
        named = self.lab.announce_rdnss()
        self.event("link", f"RDNSS announced; the client's resolvers: {', '.join(named)}")

    def offer_dhcp6_dns(self) -> None:
        named = self.lab.offer_dhcp6_dns()
        self.event("link", f"DHCPv6 offers DNS; the client's resolvers: {', '.join(named)}")

    def announce_route(self, prefix: str) -> None:
        routed = self.lab.announce_route(prefix)
        self.event(
            "link",
            f"route information for {prefix} announced"
            + ("; the client routes it" if routed else "; the client took no route"),
        )

    def probe_tunnel_address(self) -> None:
        self.lab.probe_tunnel_address()
        self.event("link", "the router asks for the tunnel's address: ARP, and a SYN/ACK to it")

    # ------------------------------------------------------------- time and traffic

    def wait(self, seconds: float, why: str) -> None:
        """Let time pass inside the case's window (the event under test is time itself)."""
        self.event("wait", why)
        time.sleep(seconds)

    def settle(self) -> None:
        """Watch, with the stream running, for the case's settle window."""
        self.event("settle", f"watching {self.case.settle:g} s")
        time.sleep(self.case.settle)

    def probe(self, names: tuple[str, ...] | list[str]) -> dict:
        """The client's applications send the named probes at once; their outcomes.

        A container subject's applications are its application container's.
        """
        env = {
            probes.VPN_PORT_ENV: str(self.lab.tunnel.endpoint_port),
            probes.LAN_GATEWAY_ENV: self.lab.lan.gateway4,
        }
        if self.lab.containers is not None:
            env |= {"PATH": CONTAINER_PATH, "PYTHONPATH": APP_DIR}
            argv = ["python3", "-S", "-m", "conformance.probes", *names]
            stdout, stderr = self.lab.containers.app_run(argv, env, timeout=30)[1:]
        else:
            env |= {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
            argv = home.module_argv("conformance.probes", *names)
            done = self.lab.client.run(shlex.join(argv), timeout=30, env=env, check=False)
            stdout, stderr = done.stdout, done.stderr
        try:
            outcome = json.loads(stdout)
        except ValueError:
            said = (stderr.strip().splitlines() or [repr(stdout[:200])])[-1][:200]
            raise LabError(f"the probes printed no result: {said}") from None
        self.probes.append({"t": round(time.time() - self.t0, 6), "outcomes": outcome})
        return outcome
