"""The guest driver's contract against the Linux guest, and nothing left behind."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.subject import load
from netns.capture import read_wire
from netns.errors import LabError
from netns.procs import become_subreaper, reap_orphans
from netns.topology import LAN1
from tests.netns.support import leftovers
from vms import contract
from vms.guest import MAC
from vms.lab import GuestLab

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parents[2]


def test_the_guest_runs_commands_and_moves_files(guest_lab: GuestLab) -> None:
    guest = guest_lab.client
    out = guest.run("echo %s; uname -s", "a b'c")
    assert (out.rc, out.stdout) == (0, "a b'c\nLinux\n")
    assert guest.run("exit 3", check=False).rc == 3
    with pytest.raises(LabError, match="failed"):
        guest.run("false")
    with pytest.raises(LabError, match="ran past"):
        guest.run("sleep 5", timeout=1)
    assert guest.run("cat", input="from stdin").stdout == "from stdin"
    payload = os.urandom(3 << 20)  # more than one chunk of the agent's
    guest.put("/tmp/blob", payload)
    assert guest.get("/tmp/blob") == payload
    assert guest.transcript[-1].host == "client"


def test_the_guest_has_the_hosts_facts_on_the_labs_lan(guest_lab: GuestLab) -> None:
    guest = guest_lab.client
    uplink = guest.interface("eth0")
    assert uplink.mac == MAC == guest_lab.client_mac()
    assert uplink.carrier and uplink.operstate == "UP"
    (address,) = uplink.addresses()
    assert address.startswith("192.0.2.")  # a lease from the lab's own dnsmasq
    assert ("0.0.0.0/0", LAN1.gateway4) in guest.routes()
    assert not guest.interface("nosuch0").exists
    guest.set_link(False)
    assert not uplink.carrier
    guest.set_link(True)
    assert uplink.carrier


def test_the_labs_faults_reach_the_guest_as_they_reach_a_netns_client(
    guest_lab: GuestLab,
) -> None:
    guest = guest_lab.client
    # Option 121 (TunnelVision): the guest's own dhclient takes the pushed routes.
    guest_lab.push_option121(["0.0.0.0/1", "203.0.113.0/24"])
    routes = guest.routes()
    assert ("0.0.0.0/1", LAN1.gateway4) in routes and ("203.0.113.0/24", LAN1.gateway4) in routes
    # Another program deletes every route through an interface, in every table.
    guest.run(
        "ip link add dummy9 type dummy && ip link set dummy9 up"
        " && ip route add 198.18.0.0/24 dev dummy9 && ip route add default dev dummy9 table 77"
        " && ip -6 route add 2001:db8:9::/64 dev dummy9"
    )
    listed = "ip -4 route show table all dev dummy9 type unicast;" + (
        "ip -6 route show table all dev dummy9 type unicast"
    )
    before = guest.run(listed).stdout.splitlines()
    assert len(before) >= 3  # the three added (and the kernel's own, such as fe80::/64)
    assert guest_lab.delete_routes("dummy9") == len(before)
    assert guest.run(listed).stdout == ""
    assert guest_lab.delete_routes("nosuch0") == 0
    # The router starts announcing IPv6: the guest takes a SLAAC address in the LAN's prefix.
    address = guest_lab.set_ipv6(True)
    assert address is not None
    assert ipaddress.ip_address(address) in ipaddress.ip_network(LAN1.prefix6)


def test_what_a_hook_leaves_running_is_found_and_killed_in_its_scope(guest_lab: GuestLab) -> None:
    guest_lab.use_userspace_tunnel()
    subject = load(str(REPO / "vms" / "subjects" / "reference"))
    contract.install(guest_lab.client, subject, guest_lab.tunnel)
    contract.run_hook(guest_lab.client, subject, guest_lab.tunnel, "connect", 120, 1)
    # The module refused, wg-quick fell back to wireguard-go, in the connect hook's scope.
    (tunnel,) = guest_lab.tunnel_processes()
    assert guest_lab.subject_processes()[tunnel][1:] == [guest_lab.tunnel.interface]
    assert (
        guest_lab.client.run("cat /proc/%s/cgroup", tunnel)
        .stdout.strip()
        .endswith(f"/{contract.SUBJECT_SLICE}/{contract.hook_scope('connect', 1)}")
    )
    assert guest_lab.kill_tunnel() == [tunnel]
    assert tunnel not in guest_lab.subject_pids()
    # A second run of a hook gets a scope of its own; killing the hook's scopes empties them.
    subject.hooks["connect"] = "sleep 600 &"
    contract.run_hook(guest_lab.client, subject, guest_lab.tunnel, "connect", 60, 2)
    (sleeper,) = guest_lab.subject_pids()
    assert guest_lab.subject_processes()[sleeper] == ["sleep", "600"]
    assert guest_lab.exited({sleeper}, timeout=0.2) == set()
    guest_lab.kill_hook("connect")
    assert guest_lab.subject_pids() == set()
    assert guest_lab.exited({sleeper}, timeout=5) == {sleeper}


def test_the_capture_on_the_tap_sees_the_guests_frames(guest_lab: GuestLab) -> None:
    guest_lab.client.run("ping -c 1 -W 5 %s", LAN1.gateway4)
    guest_lab.stop_capture()
    frames = read_wire(guest_lab.workdir / "wire.pcap")
    mac = bytes.fromhex(MAC.replace(":", ""))
    assert any(f.data[6:12] == mac for f in frames)


def test_a_reboot_is_real_and_the_capture_runs_through_it(guest_lab: GuestLab) -> None:
    guest = guest_lab.client
    boot_id = guest.run("cat /proc/sys/kernel/random/boot_id").stdout
    guest.run("touch /run/volatile /var/lib/leakcert/kept")
    guest.reboot()
    assert guest.last_reset["data"]["guest"] is True
    assert guest.run("cat /proc/sys/kernel/random/boot_id").stdout != boot_id
    assert guest.run("test -e /run/volatile", check=False).rc == 1
    assert guest.run("test -e /var/lib/leakcert/kept").rc == 0
    guest.reset()  # a power cut: the machine resets, the OS does not shut down
    assert guest.last_reset["data"]["guest"] is False
    guest_lab.stop_capture()
    # Each boot's first DHCP message (a discover, or a request for its old lease)
    # is on the one capture, which ran through both.
    cookie = b"\x63\x82\x53\x63\x35\x01"  # DHCP's magic cookie, then the message type
    asks = [
        f
        for f in read_wire(guest_lab.workdir / "wire.pcap")
        if any(cookie + kind in f.data for kind in (b"\x01", b"\x03"))
    ]
    assert len(asks) >= 2


def test_teardown_leaves_nothing(image, tmp_path: Path) -> None:
    with GuestLab(image, tmp_path) as lab:
        lab.power_on()
        qemu = lab.client._qemu.pid
    assert not Path(f"/proc/{qemu}").exists()
    assert leftovers(lab.lab_id, tmp_path / "guest") == []


def test_a_sigkilled_runner_leaves_its_vm_to_the_next_lab(image, tmp_path: Path) -> None:
    become_subreaper()
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.vms.guest_worker", str(tmp_path / "killed")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    held = json.loads(worker.stdout.readline())
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    worker.stdout.close()
    assert Path(f"/proc/{held['qemu']}").exists(), "the VM outlives its runner until the sweep"
    with GuestLab(image, tmp_path / "next") as lab:
        reap_orphans()
        assert leftovers(held["lab_id"], tmp_path / "killed" / "guest") == []
    assert not Path(f"/proc/{held['qemu']}").exists()
    assert leftovers(lab.lab_id) == []
