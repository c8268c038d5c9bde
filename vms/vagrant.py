"""The Linux guest through Vagrant: `vagrant` with vagrant-libvirt drives the
lane's own box (`vms.vagrant_box`) on a libvirt of the lab's own (`vms.libvirt`).

    with VagrantLab(image, workdir) as lab:   # router, vpn, net; libvirtd in the router
        lab.power_on()                        # `vagrant up`
        lab.client.run("uname -r")            # the guest contract, as `QemuGuest`'s
        lab.client.save("warm"); lab.client.restore("warm")   # `vagrant snapshot`

`VagrantGuest` keeps `QemuGuest`'s contract (run, put/get, power on/off,
reboot, reset, snapshots, interface facts) and its way in: the QEMU guest
agent on a virtio-serial port, here owned by libvirt and reached with
`virsh qemu-agent-command`. The guest's only NIC is a tap named like the
QEMU path's (`wire`) that libvirt makes on the lab's own libvirt network, a
bridge-mode network over the lab's LAN bridge in the router namespace (so
the router's dnsmasq serves it); there is no management network. Vagrant runs
in the router namespace too: its one SSH check after boot goes to the guest
over the lab's LAN and nowhere else.

Unlike the QEMU path, the tap exists only while the domain runs: the capture
starts once the guest is on, so the guest's first boot is not on it (the
real-reboot cases use `QemuGuest`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import time
from pathlib import Path

from netns.errors import LabError
from netns.host import Step
from netns.topology import LAN1, WIRE
from netns.wait import until
from vms.guest import BOOT_TIMEOUT, MAC, QemuGuest
from vms.image import Image
from vms.lab import GuestLab
from vms.libvirt import Libvirt
from vms.vagrant_box import Box, package

VAGRANTFILE_DIR = Path(__file__).parent / "vagrant" / "linux"
MACHINE = "guest"  # the machine's name in the Vagrantfile
UP_TIMEOUT = 900.0


class VirshAgent:
    """The guest agent, through libvirt (which holds its channel): `Agent`'s calls."""

    def __init__(self, libvirt: Libvirt, domain: str) -> None:
        self.libvirt = libvirt
        self.domain = domain

    def execute(self, command: str, timeout: float = 10.0, **arguments: object) -> object:
        message = {"execute": command, **({"arguments": arguments} if arguments else {})}
        proc = self.libvirt.virsh(
            "qemu-agent-command",
            self.domain,
            "--timeout",
            str(max(1, round(timeout))),
            json.dumps(message),
            check=False,
            timeout=timeout + 10,
        )
        if proc.returncode != 0:
            reason = (proc.stderr.strip() or "no answer").splitlines()[-1]
            raise LabError(f"the guest agent: {command}: {reason}")
        try:
            return json.loads(proc.stdout)["return"]
        except (ValueError, KeyError, TypeError):
            raise LabError(f"the guest agent: {command}: no answer") from None

    def answers(self) -> bool:
        with contextlib.suppress(LabError):
            self.execute("guest-ping", timeout=5)
            return True
        return False

    def sync(self, timeout: float = 30.0) -> None:
        until("the guest agent to answer", self.answers, timeout)


class VagrantGuest(QemuGuest):
    """The Linux guest, brought up and down by `vagrant` on the lab's own libvirt."""

    def __init__(
        self, box: Box, libvirt: Libvirt, lab_id: str, folder: Path, transcript: list[Step]
    ) -> None:
        self.box = box
        self.libvirt = libvirt
        self.folder = folder
        self.transcript = transcript
        self.folder.mkdir(parents=True, exist_ok=True)
        self.prefix = f"leakcert-{lab_id}-"
        self.domain = f"{self.prefix}{MACHINE}"
        self.network = f"leakcert-{lab_id}"
        self.pool = f"leakcert-{lab_id}"
        self.console = folder / "console.log"
        self.agent = VirshAgent(libvirt, self.domain)
        self.created = False
        self.last_reset: dict = {}

    def __repr__(self) -> str:
        return f"VagrantGuest({self.domain})"

    def env(self) -> dict[str, str]:
        """What the lane's Vagrantfile reads: everything of this lab's."""
        return {
            **os.environ,
            "VAGRANT_HOME": str(self.box.home),
            "VAGRANT_CWD": str(VAGRANTFILE_DIR),
            "VAGRANT_DOTFILE_PATH": str(self.folder / "dot"),
            "VAGRANT_CHECKPOINT_DISABLE": "1",
            "VAGRANT_NO_COLOR": "1",
            "LEAKCERT_BOX": self.box.name,
            "LEAKCERT_LIBVIRT_URI": self.libvirt.uri,
            "LEAKCERT_POOL": self.pool,
            "LEAKCERT_NETWORK": self.network,
            "LEAKCERT_TAP": WIRE,
            "LEAKCERT_MAC": MAC,
            "LEAKCERT_PREFIX": self.prefix,
            "LEAKCERT_CONSOLE": str(self.console),
        }

    def vagrant(self, *args: str, timeout: float = 300.0) -> str:
        """`vagrant ARGS` in the lab's router namespace (its SSH check reaches the guest there)."""
        line = shlex.join(["vagrant", *args])
        result = self.libvirt.router.run(
            line, check=False, timeout=timeout, env=self.env(), cgroup=self.libvirt.cgroup
        )
        if not result.ok:
            lines = [x for x in (result.stderr or result.stdout).splitlines() if x.strip()]
            raise LabError(f"`{line}` failed ({result.rc}): {lines[-1] if lines else 'no output'}")
        return result.stdout

    # ------------------------------------------------------------- the lab's libvirt objects

    def define(self) -> None:
        """The lab's storage pool and network (a bridge-mode network over the LAN's bridge)."""
        pool = self.folder / "pool"
        pool.mkdir(exist_ok=True)
        self.libvirt.virsh("pool-define-as", self.pool, "dir", "--target", str(pool))
        self.libvirt.virsh("pool-start", self.pool)
        xml = self.folder / "network.xml"
        xml.write_text(
            f"<network><name>{self.network}</name><forward mode='bridge'/>"
            f"<bridge name='{LAN1.bridge}'/></network>"
        )
        self.libvirt.virsh("net-define", str(xml))
        self.libvirt.virsh("net-start", self.network)

    def undefine(self) -> None:
        """Destroy the machine, its volumes, the box's copy in the pool, the network."""
        virsh = self.libvirt.virsh
        if self.created:
            self.created = False
            with contextlib.suppress(LabError):
                self.vagrant("destroy", "--force", MACHINE)
        if virsh("net-info", self.network, check=False).returncode == 0:
            virsh("net-destroy", self.network, check=False)
            virsh("net-undefine", self.network)
        if virsh("pool-info", self.pool, check=False).returncode == 0:
            for row in virsh("vol-list", self.pool).stdout.splitlines():
                virsh("vol-delete", "--pool", self.pool, row.split()[0])
            virsh("pool-destroy", self.pool, check=False)
            virsh("pool-undefine", self.pool)

    def leftovers(self) -> list[str]:
        """What the lab's libvirt still holds: domains, networks, pools (empty when clean)."""
        virsh = self.libvirt.virsh
        found = [f"domain {d}" for d in virsh("list", "--all", "--name").stdout.split()]
        found += [f"network {n}" for n in virsh("net-list", "--all", "--name").stdout.split()]
        found += [f"pool {p}" for p in virsh("pool-list", "--all", "--name").stdout.split()]
        return found

    # ------------------------------------------------------------- power

    def power_on(self, disk: Path | None = None, snapshot: str | None = None) -> None:
        """`vagrant up` (creates the machine the first time), or restore `snapshot`."""
        if disk is not None:
            raise LabError("the Vagrant guest's disks are vagrant-libvirt's")
        if snapshot is not None:
            self.restore(snapshot)
            return
        self.created = True
        self.vagrant("up", "--provider", "libvirt", "--no-provision", MACHINE, timeout=UP_TIMEOUT)
        self.wait_ready()

    def power_off(self) -> None:
        """The machine stops at once (`vagrant halt --force`)."""
        if self.created:
            self.vagrant("halt", "--force", MACHINE)

    def wait_ready(self, restored: bool = False, timeout: float = BOOT_TIMEOUT) -> None:
        self.agent.sync(timeout)
        if restored:
            # The clock stood still in the snapshot, and its neighbours were of its old run.
            self.agent.execute("guest-set-time", time=time.time_ns())
            self.run("ip neigh flush all")
        self.run("systemctl is-system-running --wait", check=False, timeout=timeout)

    def reboot(self) -> None:
        """The guest reboots itself (`systemctl reboot`); back when a new boot is done."""
        self._new_boot(lambda: self.run("systemctl reboot"))

    def reset(self) -> None:
        """A power cut: libvirt resets the machine under the running OS (`virsh reset`)."""
        self._new_boot(lambda: self.libvirt.virsh("reset", self.domain))

    def _new_boot(self, trigger) -> None:
        """`trigger`, then until the guest answers from another boot (its kernel's boot_id).

        QEMU's RESET event belongs to libvirt here: `last_reset` stays empty (the
        cases that time a boot by it run on `QemuGuest`).
        """
        before = self.run("cat /proc/sys/kernel/random/boot_id").stdout
        trigger()

        def rebooted() -> bool:
            with contextlib.suppress(LabError):
                return self.run("cat /proc/sys/kernel/random/boot_id", timeout=5).stdout != before
            return False

        until("the guest to boot again", rebooted, BOOT_TIMEOUT)
        self.wait_ready()

    def save(self, name: str) -> None:
        """Snapshot the running machine, memory and disk (`vagrant snapshot save`)."""
        self.vagrant("snapshot", "save", MACHINE, name)

    def restore(self, name: str) -> None:
        """Back to snapshot `name` (`vagrant snapshot restore`); back when the agent answers."""
        self.vagrant("snapshot", "restore", "--no-provision", MACHINE, name)
        self.wait_ready(restored=True)

    def set_link(self, up: bool) -> None:
        """The NIC's carrier, as the guest's driver sees it."""
        self.libvirt.virsh("domif-setlink", self.domain, WIRE, "up" if up else "down")


class VagrantLab(GuestLab):
    """A `GuestLab` whose guest is brought up by Vagrant on the lab's own libvirt."""

    def __init__(self, image: Image, workdir: Path | None = None, **options: object) -> None:
        super().__init__(image, workdir, **options)
        self.box = package(image)
        self.libvirt: Libvirt | None = None

    @property
    def platform(self) -> str:
        return f"{self.image.platform}, Vagrant (libvirt, QEMU TCG)"

    def _wire_client(self) -> None:
        """Nothing: libvirt makes the guest's tap on the LAN's bridge when the guest starts."""

    def _start_client(self) -> None:
        cgroup = self._cgroup.child("guest")
        self.libvirt = Libvirt(self.router, cgroup, self.workdir / "libvirt").start()
        self.guest = VagrantGuest(
            self.box, self.libvirt, self.lab_id, self.workdir / "guest", self.transcript
        )
        self.guest.define()

    def power_on(self, warm: bool = False) -> str:
        """`vagrant up`. (A warm start is a snapshot of this lab's own: `client.restore`.)"""
        if warm:
            raise LabError("the Vagrant guest restores its own snapshots (client.restore)")
        self.client.power_on()
        return "booted"

    def teardown(self) -> None:
        guest, self.guest = self.guest, None
        try:
            if guest is not None:
                guest.undefine()
        finally:
            if self.libvirt is not None:
                self.libvirt.stop()
                self.libvirt = None
            super().teardown()
