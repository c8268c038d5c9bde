"""The cases the guest lane runs: some of the suite's own, and the power cut.

`boot.before-connect` is the suite's case (its trigger, `reboot`, is in the
guest an orderly `shutdown -r +0`, systemd's reboot: a real boot of a real OS). The power cut
is the same promise after a hard reset, which no namespace can show: the
OS's shutdown never runs, so nothing a kill switch does on the way down helps.
`network.wifi-reconnect` is the suite's case on a guest whose uplink is a
real Wi-Fi station (`WIFI_CASES`, `vms.guest_files`): its trigger is the
guest's own, the access point dropping the station, which associates again.
`roam.access-point` is the suite's roam done by Wi-Fi: the access point goes
away and the station associates by itself with a second one, on another
network, without ever losing its link to a cable. Every other case runs on
the guest's wired eth0.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from conformance.cases import CASES, Case
from conformance.triggers import TRIGGERS

if TYPE_CHECKING:
    from conformance.case_run import CaseRun
    from vms.case_run import GuestCaseRun

_BOOT = next(case for case in CASES if case.id == "boot.before-connect")
_WIFI = next(case for case in CASES if case.id == "network.wifi-reconnect")
_ROAM = next(case for case in CASES if case.id == "roam.other-network")

GUEST_LIMITATIONS = (
    " In the guest: the stream runs as a service of the guest's from its boot on,"
    " at a lower rate; the tunnel's ups and downs are not on the timeline."
)

REBOOT = replace(
    _BOOT,
    limitations="The guest reboots for real (`shutdown -r +0`, systemd's orderly reboot):"
    " firmware, kernel, initrd and"
    " systemd run again, and the subject's boot-time setup is whatever the OS runs at boot"
    " (its units); the capture runs from before power-on." + GUEST_LIMITATIONS,
)
POWER_CUT = replace(
    _BOOT,
    id="boot.power-cut",
    title="Power cut: from power-on until the VPN connects",
    description="The power is cut and comes back (a hard reset): no shutdown runs, and the "
    "computer boots with whatever the kill switch left on its disk. Services use the network "
    "as soon as the link is up, before the VPN client connects.",
    trigger="power_cut",
    limitations="The machine resets under the running OS (QEMU's system_reset): what was not "
    "yet written to disk is lost; the capture runs from before power-on." + GUEST_LIMITATIONS,
)
WIFI_RECONNECT = replace(
    _WIFI,
    description="The Wi-Fi drops and comes back: the access point drops the computer (a "
    "deauthentication), whose Wi-Fi client associates again by itself; the client asks DHCP "
    "again. The network is reconfigured without notice while the tunnel is up.",
    limitations="Real 802.11 between mac80211_hwsim radios in the guest: the access point"
    " (hostapd, WPA2, bridged to the lab's LAN) is in a network namespace of the guest's own,"
    " the station is the guest's only uplink (wpa_supplicant, dhclient by ifupdown). What it"
    " cannot reproduce: the radio itself (a perfect medium: no fading signal, no loss, no"
    " interference, so the drop is a deauthentication, not beacons fading away), a vendor's"
    " driver and firmware, a desktop's network manager (the lease is asked again by the lane,"
    " as the suite does)." + GUEST_LIMITATIONS,
)
WIFI_ROAM = replace(
    _ROAM,
    id="roam.access-point",
    title="Roam to another access point, on another network",
    description="The Wi-Fi access point goes out of range and another one of the same network"
    " name and key comes in: the computer's Wi-Fi client associates with it by itself, and"
    " behind it is another network (another subnet, gateway and DHCP server). No cable is"
    " unplugged: what changes is the access point and the network behind it.",
    requirement=_WIFI.requirement,
    trigger="wifi_roam",
    limitations="Real 802.11 between three mac80211_hwsim radios in the guest: two access"
    " points (hostapd, WPA2, the same network name, bridged to the lab's LAN) in a network"
    " namespace of the guest's own, and the station, the guest's only uplink. The first"
    " access point goes away by stopping (it deauthenticates the station: no signal fades on"
    " hwsim's perfect medium); both share the guest's one link to the lab, which the lab moves"
    " to the second network while neither carries the station. The lease is asked again by"
    " the lane, as the suite does; no desktop network manager." + GUEST_LIMITATIONS,
)
# Suite cases whose triggers act on the lab's side (the VPN server, the router's
# DHCP and announcements, the NIC's carrier) or through commands in the client,
# which a guest runs as a Host does: run as they are, with the guest's limitation.
AS_THEY_ARE = (
    "connected.baseline",
    "connected.nothing-else",
    "tunnel.disconnect",
    "ipv6.from-start",
    "dns.tunnel-down",
    "tunnelcrack.localnet",
    "tunnelcrack.serverip",
    "error.server-refuses",
    "tunnel.interface-removed",
    "tunnel.server-unreachable",
    "network.adapter-reset",
    "network.router-reboot",
    "roam.other-network",
    "routes.rewritten",
    "dhcp121.tunnelvision",
    "ipv6.announced",
    "dns.app-resolver",
    "webrtc.connected",
)
# A crash or a sleep acts on the subject's processes, and the guest's WireGuard is
# its kernel's: for these the lane refuses the module and wg-quick falls back to
# wireguard-go, as on a Linux without it (the netns lane's tunnel is wireguard-go).
USERSPACE_TUNNEL = (
    "crash.client",
    "crash.tunnel-process",
    "crash.everything",
    "network.sleep-wake",
    "webrtc.crash",
)
USERSPACE_LIMITATION = (
    " In the guest, the kernel's WireGuard module is refused for this case, so that the"
    " tunnel runs in wireguard-go, a process that can crash or sleep."
)
GUEST_CASES: tuple[Case, ...] = (
    *(
        replace(
            case,
            limitations=case.limitations
            + GUEST_LIMITATIONS
            + (USERSPACE_LIMITATION if case.id in USERSPACE_TUNNEL else ""),
        )
        for case in CASES
        if case.id in AS_THEY_ARE + USERSPACE_TUNNEL
    ),
    REBOOT,
    POWER_CUT,
    WIFI_RECONNECT,
    WIFI_ROAM,
)
# The cases whose guest has a Wi-Fi station as its only uplink.
WIFI_CASES = frozenset({WIFI_RECONNECT.id, WIFI_ROAM.id})


def power_cut(run: CaseRun) -> Iterator[None]:
    run.trigger("the power is cut")
    run.power_cut()
    run.boot()
    yield
    run.connect()
    yield


def wifi_reconnect(run: GuestCaseRun) -> Iterator[None]:
    run.trigger("Wi-Fi lost: the access point drops the station")
    run.drop_wifi()
    yield
    run.renew_lease()
    yield


def wifi_roam(run: GuestCaseRun) -> Iterator[None]:
    run.trigger("Wi-Fi roam: the access point is gone, a second one on another network is in range")
    run.roam_wifi("lan2")
    yield


GUEST_TRIGGERS = {
    **TRIGGERS,
    "power_cut": power_cut,
    "wifi_reconnect": wifi_reconnect,
    "wifi_roam": wifi_roam,
}
