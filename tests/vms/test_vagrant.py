"""The Vagrant path of the Linux guest: `vagrant up` of the lane's own box on the
lab's own libvirt, the guest contract through it, and nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from netns.capture import read_wire
from netns.procs import become_subreaper, reap_orphans
from netns.topology import LAN1, WIRE
from tests.netns.support import leftovers
from vms.guest import MAC
from vms.image import Image
from vms.lab import GuestLab
from vms.vagrant import VagrantLab

pytestmark = pytest.mark.root


def test_vagrant_brings_the_guest_up_restores_a_snapshot_and_leaves_nothing(
    image: Image, tmp_path: Path
) -> None:
    with VagrantLab(image, tmp_path) as lab:
        lab.power_on()
        guest = lab.client
        daemons = lab.libvirt.pids()
        assert set(daemons) == {"libvirtd", "virtlogd"}
        out = guest.run("echo %s; uname -s", "a b'c")
        assert (out.rc, out.stdout) == (0, "a b'c\nLinux\n")
        guest.put("/tmp/blob", b"\x00\x01 from the lane")
        assert guest.get("/tmp/blob") == b"\x00\x01 from the lane"

        # The guest's only NIC is on the lab's LAN, served by the lab's dnsmasq.
        assert guest.run("ls /sys/class/net").stdout.split() == ["eth0", "lo"]
        uplink = guest.interface("eth0")
        assert uplink.mac == MAC
        (address,) = uplink.addresses()
        assert address.startswith("192.0.2.")
        assert lab.router.interface(WIRE).exists  # libvirt's tap, in the router namespace
        master = lab.router.run("cat /sys/class/net/%s/master/uevent", WIRE).stdout
        assert f"INTERFACE={LAN1.bridge}" in master
        assert WIRE not in os.listdir("/sys/class/net")  # nothing in the machine's own

        lab.start_capture(tmp_path / "wire.pcap")
        guest.run("ping -c 1 -W 5 %s", LAN1.gateway4)
        lab.stop_capture()
        mac = bytes.fromhex(MAC.replace(":", ""))
        assert any(f.data[6:12] == mac for f in read_wire(tmp_path / "wire.pcap"))

        guest.save("clean")
        guest.run("touch /root/after-the-snapshot")
        guest.restore("clean")
        assert guest.run("test -e /root/after-the-snapshot", check=False).rc == 1
        assert guest.interface("eth0").addresses() == [address]

        boot_id = guest.run("cat /proc/sys/kernel/random/boot_id").stdout
        guest.reboot()
        rebooted = guest.run("cat /proc/sys/kernel/random/boot_id").stdout
        assert rebooted != boot_id
        guest.reset()
        assert guest.run("cat /proc/sys/kernel/random/boot_id").stdout not in (boot_id, rebooted)

        guest.undefine()
        assert guest.leftovers() == []  # no domain, network, pool or volume in the lab's libvirt
    for pid in daemons.values():
        assert not _alive(pid)
    assert leftovers(lab.lab_id, tmp_path / "libvirt") == []


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_sigkilled_runner_leaves_its_libvirt_to_the_next_lab(image: Image, tmp_path) -> None:
    become_subreaper()
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.vms.vagrant_worker", str(tmp_path / "killed")],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    held = json.loads(worker.stdout.readline())
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    worker.stdout.close()
    assert set(held["pids"]) == {"libvirtd", "virtlogd", "qemu"}
    assert all(_alive(pid) for pid in held["pids"].values()), "they outlive the runner"
    with GuestLab(image, tmp_path / "next"):  # its build sweeps the labs whose runner died
        reap_orphans()
        assert not any(_alive(pid) for pid in held["pids"].values())
        assert leftovers(held["lab_id"], tmp_path / "killed" / "libvirt") == []
