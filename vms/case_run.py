"""A case in progress in a guest: the suite's verbs (`conformance.case_run`), done
to a whole operating system.

A reboot is the guest's own; a power cut is a machine reset; `boot` is the
OS's boot (its units, the subject's among them), not a hook the lab runs; the
hooks and the probes run in the guest through its agent. On a Wi-Fi uplink,
Wi-Fi is lost when the access point drops the station, a roam is to a second
access point on another network, and the association events are hostapd's,
at its times (`vms.wifi`).
"""

from __future__ import annotations

import json
import time

from conformance import probes
from conformance.case_run import CaseRun
from conformance.subject import HookFailed
from netns.errors import LabError
from vms import contract
from vms.lab import GuestLab


class GuestCaseRun(CaseRun):
    """`CaseRun` with a `GuestLab`: every verb a trigger of the guest lane uses."""

    lab: GuestLab

    def hook(self, name: str, timeout: float | None = None) -> None:
        self.event("hook", f"{name} hook")
        try:
            nth = 1 + sum(run.hook == name for run in self.hooks)
            self.hooks.append(
                contract.run_hook(
                    self.lab.client,
                    self.subject,
                    self.lab.tunnel,
                    name,
                    timeout or self.hook_timeout,
                    nth,
                    self.lab.uplink,
                )
            )
        except HookFailed as failed:
            self.hooks.append(failed.run)
            raise

    def try_connect(self, timeout: float) -> None:
        # Under TCG a hook runs several times slower than in a namespace: the attempt
        # gets the guest's whole hook timeout, so a hook that would finish is not cut.
        super().try_connect(max(timeout, self.hook_timeout))

    def power_on(self) -> str:
        """The guest's first boot of the case (a warm snapshot when there is one)."""
        self.event("boot", "the guest powers on")
        how = self.lab.power_on()
        self.event("link", f"the guest is up ({how}), its network up by its own boot")
        return how

    def boot(self) -> None:
        """The OS boots by itself: nothing to do but record that its boot is done."""
        how = "associated by wpa_supplicant, " if self.lab.wifi else ""
        self.event(
            "link", f"the guest's boot is done: {self.lab.uplink} up by ifupdown, {how}DHCP lease"
        )

    def reboot_client(self) -> None:
        self._reset(self.lab.client.reboot, "the guest reboots itself (shutdown -r)")

    def power_cut(self) -> None:
        self._reset(self.lab.client.reset, "the power comes back: the machine resets")

    def _reset(self, how, text: str) -> None:
        guest = self.lab.client
        how()
        reset = guest.last_reset
        at = reset["timestamp"]["seconds"] + reset["timestamp"]["microseconds"] / 1e6
        self.event("boot", text, at)

    def drop_wifi(self) -> None:
        self.lab.drop_wifi()

    def roam_wifi(self, lan: str) -> None:
        self.lab.roam_wifi(lan)
        self.event("link", f"lease on {lan}")

    def record_association(self) -> None:
        """The access points' association events since the case began, on the timeline."""
        if not self.lab.wifi:
            return
        for at, text in self.lab.association_events(self.t0):
            self.event("link", text, at)
        self.events.sort(key=lambda e: e["t"])

    def probe(self, names: tuple[str, ...] | list[str]) -> dict:
        """The guest's applications send the named probes at once; their outcomes."""
        env = {
            "PYTHONPATH": contract.environment(self.lab.tunnel)["PYTHONPATH"],
            probes.UPLINK_ENV: self.lab.uplink,
            probes.VPN_PORT_ENV: str(self.lab.tunnel.endpoint_port),
            probes.LAN_GATEWAY_ENV: self.lab.lan.gateway4,
        }
        result = self.lab.client.run(
            "python3 -m conformance.probes " + " ".join(names), timeout=60, env=env
        )
        try:
            outcome = json.loads(result.stdout)
        except ValueError:
            raise LabError(f"the probes printed no result: {result.stdout[:200]!r}") from None
        self.probes.append({"t": round(time.time() - self.t0, 6), "outcomes": outcome})
        return outcome
