"""A Guest: the lab's client as a whole operating system in a VM.

The driver's contract, in the manner of testinfra's host (the same for every
platform; `QemuGuest` is the Linux guest's fast path):

    guest.run("ip -j addr show dev %s", "eth0")   # a CommandResult, like a Host's
    guest.put("/etc/x", b"...") / guest.get("/etc/x")
    guest.power_on(snapshot=...) / guest.power_off()
    guest.reboot()      # orderly: the guest's own `shutdown -r +0`, systemd's reboot
    guest.reset()       # a power cut: the machine resets under the running OS
    guest.interface("eth0").addresses()  # the facts a Host gives (`netns.facts`)

QEMU runs inside the lab's router namespace, on a tap (`wire`) that the lab
made there before it started: the guest's only NIC, so the router's dnsmasq,
the VPN server and the internet hosts serve it, and the capture on `wire`
sees its every frame, across reboots and even a new QEMU process. There is no
user-mode network and no other NIC. The lane reaches the guest through the
QEMU guest agent on a virtio-serial port, not over the network: nothing of the
lane's is on the wire the judge reads, and no kill switch can cut the lane off
its guest (the host has no vsock device for SSH).
"""

from __future__ import annotations

import base64
import contextlib
import json
import shlex
import subprocess
import time
from pathlib import Path

from netns.errors import LabError
from netns.host import CommandResult, Host, Step
from netns.procs import Cgroup, Daemon
from netns.topology import WIRE
from netns.wait import until
from vms.image import KERNEL_ARGS, Image
from vms.qmp import Agent, Qmp

AGENT_PORT = "org.qemu.guest_agent.0"
MEMORY = "512"
# A fixed MAC: a restored snapshot must find the NIC it was saved with.
MAC = "52:54:00:12:34:56"
BOOT_TIMEOUT = 240.0  # TCG on two shared cores: a boot can take minutes under load
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class GuestInterface:
    """One interface of the guest, as its kernel says (`ip -j addr`): a Host's facts."""

    def __init__(self, guest: QemuGuest, name: str) -> None:
        self.guest = guest
        self.name = name

    def _read(self) -> dict | None:
        out = self.guest.run("ip -j addr show dev %s", self.name, check=False)
        try:
            found = json.loads(out.stdout) if out.ok else []
        except ValueError:
            found = []
        return found[0] if found else None

    @property
    def exists(self) -> bool:
        return self._read() is not None

    @property
    def mac(self) -> str | None:
        link = self._read()
        return link.get("address") if link else None

    @property
    def operstate(self) -> str:
        link = self._read()
        return link.get("operstate", "UNKNOWN") if link else "ABSENT"

    @property
    def carrier(self) -> bool:
        link = self._read()
        return bool(link) and "LOWER_UP" in link.get("flags", [])

    def addresses(self, family: int = 2) -> list[str]:
        link = self._read() or {}
        kind = "inet" if family == 2 else "inet6"
        return [
            a["local"]
            for a in link.get("addr_info", [])
            if a.get("family") == kind and a.get("scope") == "global" and not a.get("tentative")
        ]


class QemuGuest:
    """The Linux guest, in a QEMU (TCG) the lane starts itself, controlled over QMP."""

    role = "client"

    def __init__(
        self,
        image: Image,
        folder: Path,
        router: Host,
        cgroup: Cgroup,
        transcript: list[Step],
        kernel_args: str = KERNEL_ARGS,
    ) -> None:
        self.image = image
        self.kernel_args = kernel_args  # kept across reboots: QEMU boots the same line
        self.folder = folder
        self.router = router
        self.cgroup = cgroup
        self.transcript = transcript
        self.folder.mkdir(parents=True, exist_ok=True)
        self.disk = folder / "disk.qcow2"
        self.console = folder / "console.log"
        self.qmp = Qmp(folder / "qmp.sock")
        self.agent = Agent(folder / "agent.sock")
        self._qemu: Daemon | None = None
        self.last_reset: dict = {}  # QMP's RESET event of the last reboot or reset

    def __repr__(self) -> str:
        return f"QemuGuest({self.image.folder.name})"

    # ------------------------------------------------------------- power

    def argv(self, snapshot: str | None = None) -> list[str]:
        """QEMU's command line: TCG (KVM hangs this guest here), direct kernel boot."""
        image = self.image
        argv = [
            "qemu-system-x86_64",
            "-accel", "tcg",
            "-M", "pc",
            "-nodefaults",
            "-smp", "2",
            "-m", MEMORY,
            "-display", "none",
            "-kernel", str(image.kernel),
            "-initrd", str(image.initrd),
            "-append", self.kernel_args,
            "-drive", f"file={self.disk},if=none,id=disk0,format=qcow2",
            "-device", "virtio-blk-pci,drive=disk0,romfile=",
            "-netdev", f"tap,id=net0,ifname={WIRE},script=no,downscript=no",
            "-device", f"virtio-net-pci,netdev=net0,mac={MAC},romfile=",
            "-device", "virtio-serial-pci,romfile=",
            "-chardev", f"socket,id=agent,path={self.agent.path},server=on,wait=off",
            "-device", f"virtserialport,chardev=agent,id=agent0,name={AGENT_PORT}",
            "-qmp", f"unix:{self.qmp.path},server=on,wait=off",
            "-serial", f"file:{self.console}",
            "-rtc", "base=utc",
        ]  # fmt: skip
        if snapshot:
            argv += ["-loadvm", snapshot]
        return argv

    def power_on(self, disk: Path | None = None, snapshot: str | None = None) -> None:
        """Start the machine on a new overlay of the image (or on `disk`, at `snapshot`)."""
        if self._qemu is not None:
            raise LabError("the guest is already on")
        if disk is not None:
            self.disk = disk
        elif not self.disk.exists():
            _qemu_img(
                "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", self.image.disk, self.disk
            )
        for sock in (self.qmp.path, self.agent.path):
            sock.unlink(missing_ok=True)
        self._qemu = self.router.spawn("qemu", self.argv(snapshot), cgroup=self.cgroup)
        self.qmp.connect()
        self.agent.connect()
        self.wait_ready(restored=snapshot is not None)

    def wait_ready(self, restored: bool = False, timeout: float = BOOT_TIMEOUT) -> None:
        """Until the guest's agent answers and its boot is done (systemd says so)."""
        if restored:
            self.agent.sync()
            # The clock stood still in the snapshot, and the neighbours it knew
            # (the router's MAC) were another lab's.
            self.agent.execute("guest-set-time", time=time.time_ns())
            self.run("ip neigh flush all")
        else:
            self.qmp.wait_event("VSERPORT_CHANGE", timeout, id="agent0", open=True)
            self.agent.sync(timeout=30)
        self.run("systemctl is-system-running --wait", check=False, timeout=timeout)

    def reboot(self) -> None:
        """The guest reboots itself (`shutdown -r +0`, asked through its agent); back when
        its boot is done."""
        self.qmp.forget_events()
        asked = "shutdown -r +0 (the agent's guest-shutdown)"
        self.transcript.append(Step(time.time(), self.role, asked, None))
        self.agent.reboot()
        self.last_reset = self.qmp.wait_event("RESET", 60)
        self.wait_ready()

    def reset(self) -> None:
        """The power is cut and comes back: the machine resets under the running OS."""
        self.qmp.forget_events()
        self.qmp.execute("system_reset")
        self.last_reset = self.qmp.wait_event("RESET", 10)
        self.wait_ready()

    def save(self, name: str) -> None:
        """Save the running machine, memory and disk, as snapshot `name` in its disk."""
        self.qmp.execute("human-monitor-command", timeout=300, **{"command-line": f"savevm {name}"})

    def set_link(self, up: bool) -> None:
        """The NIC's carrier, as the guest's driver sees it."""
        self.qmp.execute("set_link", name="net0", up=up)

    def power_off(self) -> None:
        """QEMU stops at once (the lab's cgroup kills what is left)."""
        qemu, self._qemu = self._qemu, None
        if qemu is None:
            return
        with contextlib.suppress(LabError):
            self.qmp.execute("quit", timeout=5)
        qemu.stop()
        self.qmp.close()
        self.agent.close()

    # ------------------------------------------------------------- commands and files

    def run(
        self,
        command: str,
        *args: object,
        check: bool = True,
        timeout: float = 30.0,
        env: dict[str, str] | None = None,
        input: str | None = None,
    ) -> CommandResult:
        """Run `command` (%s placeholders quoted, as a Host's) with /bin/sh in the guest."""
        line = command % tuple(shlex.quote(str(a)) for a in args) if args else command
        started = time.time()
        arguments: dict = {
            "path": "/usr/bin/timeout",
            "arg": ["-k", "1", f"{timeout:g}", "/bin/sh", "-c", line],
            "env": [f"{k}={v}" for k, v in {"PATH": PATH, **(env or {})}.items()],
            "capture-output": True,
        }
        if input is not None:
            arguments["input-data"] = base64.b64encode(input.encode()).decode()
        pid = self.agent.execute("guest-exec", **arguments)["pid"]

        def finished() -> dict | None:
            status = self.agent.execute("guest-exec-status", pid=pid)
            return status if status.get("exited") else None

        status = until(f"`{line}` in the guest", finished, timeout + 5)
        rc = status.get("exitcode", 128 + status.get("signal", 0))
        self.transcript.append(Step(started, self.role, line, None if rc == 124 else rc))
        result = CommandResult(line, rc, _b64(status.get("out-data")), _b64(status.get("err-data")))
        if rc == 124:
            raise LabError(f"client: `{line}` ran past {timeout:g}s")
        if check and not result.ok:
            reason = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()
            raise LabError(f"client: `{line}` failed ({result.rc}): {reason[-1]}")
        return result

    def put(self, path: str, data: bytes, mode: int | None = None) -> None:
        handle = self.agent.execute("guest-file-open", path=path, mode="wb")
        try:
            for at in range(0, len(data), 1 << 20):
                chunk = base64.b64encode(data[at : at + (1 << 20)]).decode()
                self.agent.execute("guest-file-write", handle=handle, **{"buf-b64": chunk})
        finally:
            self.agent.execute("guest-file-close", handle=handle)
        if mode is not None:
            self.run("chmod %s %s", f"{mode:o}", path)

    def get(self, path: str) -> bytes:
        handle = self.agent.execute("guest-file-open", path=path, mode="rb")
        data = b""
        try:
            while True:
                part = self.agent.execute("guest-file-read", handle=handle, count=1 << 20)
                data += base64.b64decode(part.get("buf-b64", ""))
                if part.get("eof") or not part.get("count"):
                    return data
        finally:
            self.agent.execute("guest-file-close", handle=handle)

    # ------------------------------------------------------------- facts

    def interface(self, name: str) -> GuestInterface:
        return GuestInterface(self, name)

    def routes(self, family: int = 2, table: int = 254) -> list[tuple[str, str | None]]:
        flag = "-4" if family == 2 else "-6"
        out = self.run("ip -j %s route show table %s", flag, table).stdout
        default = "0.0.0.0/0" if family == 2 else "::/0"
        routes = []
        for route in json.loads(out or "[]"):
            dst = route.get("dst", "default")
            if dst == "default":
                dst = default
            elif "/" not in dst:
                dst += "/32" if family == 2 else "/128"
            routes.append((dst, route.get("gateway")))
        return routes


def _b64(text: str | None) -> str:
    return base64.b64decode(text or "").decode(errors="replace")


def _qemu_img(*args: object) -> None:
    proc = subprocess.run(["qemu-img", *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise LabError(f"qemu-img {args[0]} failed: {proc.stderr.strip()[-200:]}")
