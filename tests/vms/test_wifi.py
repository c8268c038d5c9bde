"""The guest's Wi-Fi is real 802.11: the station is associated, its lease and every frame
it sends cross the air and the access point's bridge, a drop is a disassociation and a
reassociation that the access point logs, and a roam is an association with a second
access point, on another network."""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netns.capture import read_wire
from netns.topology import LAN1, LAN2
from vms import guest_files
from vms.guest import MAC
from vms.image import Image
from vms.lab import GuestLab

pytestmark = pytest.mark.root

DHCP_REQUEST = b"\x63\x82\x53\x63\x35\x01\x03"  # DHCP's magic cookie, then "request"


@pytest.fixture
def wifi_lab(image: Image, tmp_path: Path) -> Iterator[GuestLab]:
    """A guest whose only uplink is the Wi-Fi station, its capture running on the tap."""
    with GuestLab(image, tmp_path, wifi=True) as lab:
        lab.start_capture(tmp_path / "wire.pcap")
        lab.power_on()
        yield lab


def _bssid(lab: GuestLab, access_point: str = guest_files.ACCESS_POINT) -> str:
    out = lab.client.run(
        "ip netns exec %s cat /sys/class/net/%s/address", guest_files.AP_NETNS, access_point
    )
    return out.stdout.strip()


def test_the_station_is_the_only_uplink_and_its_lease_crosses_the_air(
    wifi_lab: GuestLab,
) -> None:
    guest = wifi_lab.client
    station = guest.interface(guest_files.STATION)
    link = guest.run("iw dev %s link", guest_files.STATION).stdout
    assert f"Connected to {_bssid(wifi_lab)}" in link
    assert f"SSID: {guest_files.SSID}" in link
    assert not guest.interface("eth0").exists  # the wired NIC is the access point's
    links = {n["ifname"]: n for n in json.loads(guest.run("ip -j link show").stdout)}
    # hwsim0 is mac80211_hwsim's monitor of the medium: down, never an uplink.
    assert set(links) == {"lo", guest_files.STATION, "hwsim0"}
    assert "UP" not in links["hwsim0"]["flags"]
    bridged = json.loads(guest.run("ip -n %s -j link show master br0", guest_files.AP_NETNS).stdout)
    assert {n["ifname"] for n in bridged} == {"eth0", guest_files.ACCESS_POINT}
    (address,) = station.addresses()
    assert address.startswith("192.0.2.")
    assert ("0.0.0.0/0", LAN1.gateway4) in guest.routes()
    assert wifi_lab.client_mac() == station.mac != MAC

    wifi_lab.dhcp.renew()  # asked again now, while the capture runs
    guest.run("ping -c 1 -W 5 %s", LAN1.gateway4)
    wifi_lab.stop_capture()
    frames = read_wire(wifi_lab.workdir / "wire.pcap")
    mine = bytes.fromhex(station.mac.replace(":", ""))
    requests = [f for f in frames if DHCP_REQUEST in f.data]
    assert requests and all(f.data[6:12] == mine for f in requests)
    # The access point sends nothing of its own: the wired NIC's MAC is never a source.
    assert not [f for f in frames if f.data[6:12] == bytes.fromhex(MAC.replace(":", ""))]


def test_a_wifi_drop_is_a_disassociation_then_a_reassociation(wifi_lab: GuestLab) -> None:
    guest = wifi_lab.client
    since = time.time()
    assert wifi_lab.association_events(since) == []
    wifi_lab.drop_wifi()
    events = wifi_lab.association_events(since)
    texts = [text for _, text in events]
    gone = next(i for i, t in enumerate(texts) if "is disconnected from" in t)
    back = next(i for i, t in enumerate(texts) if "associates with" in t)
    assert gone < back < len(texts) - 1 and "may send" in texts[-1]
    times = [t for t, _ in events]
    assert times == sorted(times) and since <= times[0] <= time.time()
    # The station found the access point again by itself, and its network works.
    link = guest.run("iw dev %s link", guest_files.STATION).stdout
    assert f"Connected to {_bssid(wifi_lab)}" in link
    guest.run("ping -c 1 -W 5 %s", LAN1.gateway4)


def test_a_roam_is_an_association_with_a_second_access_point_on_another_network(
    wifi_lab: GuestLab,
) -> None:
    guest = wifi_lab.client
    first = _bssid(wifi_lab)
    since = time.time()
    wifi_lab.roam_wifi("lan2")
    second = _bssid(wifi_lab, guest_files.SECOND_ACCESS_POINT)
    assert second != first
    assert f"Connected to {second}" in guest.run("iw dev %s link", guest_files.STATION).stdout
    # The first access point is gone: the station found the second by itself.
    status = guest.run(
        "hostapd_cli -p %s -i %s status", guest_files.HOSTAPD_CTRL, guest_files.ACCESS_POINT
    )
    assert "state=DISABLED" in status.stdout
    texts = [text for _, text in wifi_lab.association_events(since)]
    gone = next(i for i, t in enumerate(texts) if "disconnected from the access point ap0" in t)
    back = next(i for i, t in enumerate(texts) if "associates with the access point ap1" in t)
    assert gone < back and "may send (WPA2 keys set) through the access point ap1" in texts[-1]
    # Behind the second access point is the other LAN: its lease, its gateway.
    (address,) = guest.interface(guest_files.STATION).addresses()
    assert ipaddress.ip_address(address) in ipaddress.ip_network(LAN2.prefix4)
    assert ("0.0.0.0/0", LAN2.gateway4) in guest.routes()
    assert wifi_lab.lan == LAN2
    guest.run("ping -c 1 -W 5 %s", LAN2.gateway4)
