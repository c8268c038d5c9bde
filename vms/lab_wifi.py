"""What the lab does to a guest's Wi-Fi (a part of `vms.lab.GuestLab`): the access
point drops the station, or goes away while a second one comes into range on
another network. Both are real 802.11 in the guest (`vms.guest_files`); what
the access points logged goes on the case's timeline (`vms.wifi`).
"""

from __future__ import annotations

import shlex

from netns.errors import LabError
from netns.topology import LANS
from vms import guest_files, wifi

# How long a station may take to associate again: a scan (wpa_supplicant scans
# again every 5 s while it finds no network) and a WPA2 handshake under TCG on
# a loaded machine.
REASSOCIATION_TIMEOUT = 60.0
SECOND_HOSTAPD_PID = "/run/hostapd-second.pid"


class GuestWifi:
    """The guest's Wi-Fi as triggers use it (a mixin of `GuestLab`)."""

    def drop_wifi(self) -> None:
        """The access point drops the station (a deauthentication); back when the station
        has associated again by itself (wpa_supplicant) and the access point lets it send."""
        self._require_wifi()
        self._until_connected(
            guest_files.ACCESS_POINT,
            "hostapd_cli -p %s -i %s deauthenticate %s | grep -qx OK",
            guest_files.HOSTAPD_CTRL,
            guest_files.ACCESS_POINT,
            self.client_mac(),
        )

    def roam_wifi(self, lan_name: str = "lan2") -> None:
        """The station moves from the access point to a second one, on another network.

        The first access point goes away (it drops the station and stops sending:
        its signal lost). The lab's wire, which both access points share, moves
        to `lan_name` while neither carries the station, so each network is only
        ever behind its own access point. The second comes up with the same
        network name and key; the station finds it and associates by itself.
        Back when the second lets it send and the station has a lease there.
        """
        self._require_wifi()
        lan = LANS[lan_name]
        self.client.run(
            "hostapd_cli -p %s -i %s disable | grep -qx OK"
            " && until iw dev %s link | grep -q '^Not connected'; do sleep 0.05; done",
            guest_files.HOSTAPD_CTRL,
            guest_files.ACCESS_POINT,
            guest_files.STATION,
            timeout=REASSOCIATION_TIMEOUT,
        )
        self.move_wire(lan)
        self._until_connected(
            guest_files.SECOND_ACCESS_POINT,
            "ip netns exec %s hostapd -B -t -f %s -P %s %s",
            guest_files.AP_NETNS,
            guest_files.HOSTAPD_LOG,
            SECOND_HOSTAPD_PID,
            guest_files.SECOND_HOSTAPD_CONF,
        )
        self.lease_on(lan)

    def association_events(self, since: float) -> list[tuple[float, str]]:
        """The station's association events since `since` (epoch seconds), as the access
        points logged them, at their times."""
        log = self.client.get(guest_files.HOSTAPD_LOG).decode(errors="replace")
        return wifi.association_events(log, since, self.client_mac())

    def _require_wifi(self) -> None:
        if not self.wifi:
            raise LabError("the guest's uplink is not Wi-Fi")

    def _until_connected(self, access_point: str, command: str, *args: object) -> None:
        """Run `command` (with its %s `args`) in the guest, then wait there until
        `access_point` logs a new connection: one command, the connections counted
        before it and waited for after."""
        connected = f"{access_point}: {wifi.CONNECTED}"
        count = f"grep -c {shlex.quote(connected)} {guest_files.HOSTAPD_LOG}"
        self.client.run(
            f'n=$({count}); {command} && until [ "$({count})" -gt "$n" ]; do sleep 0.05; done',
            *args,
            timeout=REASSOCIATION_TIMEOUT,
        )
