"""The macOS guest, one box away: a Vagrant machine of the user's macOS box
(`vms/vagrant/macos/Vagrantfile`: VMware or Parallels, on Apple hardware),
driven over SSH with `QemuGuest`'s contract. Nothing here can run on these
machines (no macOS box can be downloaded here, nor run off Apple hardware);
everything below the OS boundary is tested.

    guest = MacGuest(VagrantMachine("macos", box="my/macos-14", provider="parallels", ...))
    guest.power_on()
    guest.run("ifconfig %s", "en0")                     # /bin/sh; args quoted
    guest.trigger("link", "en0", "down")                # vms/scripts/macos/link.sh, as root

Commands go through one SSH connection (a ControlMaster on a plain path) as
the box's user; triggers run as root with `sudo -n` (a Vagrant box's user
has password-less sudo).
"""

from __future__ import annotations

import contextlib
import re
import shlex
import subprocess
import time
from pathlib import Path

from netns.errors import LabError
from netns.host import CommandResult, Step
from vms.box_guest import BoxGuest, BoxInterface
from vms.vagrant_machine import VagrantMachine

SCRIPTS = Path(__file__).parent / "scripts" / "macos"
MAC = re.compile(r"([0-9a-f]{1,2}:){5}[0-9a-f]{1,2}")  # netstat's gateway of a neighbour


def ssh_argv(config: dict[str, str], control: Path, remote: str) -> list[str]:
    """ssh to the guest of `vagrant ssh-config`, running `remote` (one shell word list)."""
    return [
        "ssh", "-F", "/dev/null",
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR",
        "-o", "ConnectTimeout=10",
        "-o", "ControlMaster=auto",
        "-o", f"ControlPath={control}",
        "-o", "ControlPersist=120",
        "-i", config["IdentityFile"],
        "-p", config.get("Port", "22"),
        f"{config['User']}@{config['HostName']}",
        "--", remote,
    ]  # fmt: skip


def remote_sh(line: str, sudo: bool = False) -> str:
    """The remote command that runs `line` with /bin/sh (as root with sudo)."""
    return shlex.join([*(["sudo", "-n"] if sudo else []), "/bin/sh", "-c", line])


class MacInterface(BoxInterface):
    """One interface of the guest, as `ifconfig` says."""

    def _read(self) -> str | None:
        out = self.guest.run("ifconfig %s", self.name, check=False)
        return out.stdout if out.ok else None

    @property
    def mac(self) -> str | None:
        return parse_ifconfig(self._read() or "").get("ether")

    @property
    def carrier(self) -> bool:
        return parse_ifconfig(self._read() or "").get("status") == "active"

    def addresses(self, family: int = 2) -> list[str]:
        facts = parse_ifconfig(self._read() or "")
        return facts.get("inet" if family == 2 else "inet6", [])


class MacGuest(BoxGuest):
    """A macOS machine of the user's box, through Vagrant and SSH."""

    os_title = "macOS"
    answering = "SSH to the macOS guest"
    interface_type = MacInterface

    def __init__(self, machine: VagrantMachine, transcript: list[Step] | None = None) -> None:
        super().__init__(machine, transcript)
        self.control = machine.folder / "ssh.sock"  # a plain path: %r@%h:%p breaks testinfra
        self._config: dict[str, str] | None = None

    def _disconnect(self) -> None:
        self._config = None

    def _answers(self) -> bool:
        with contextlib.suppress(LabError):
            self._config = self._config or self.machine.ssh_config()
            return self.run("true", check=False, timeout=20).ok
        return False

    def boot_time(self) -> str:
        return self.run("sysctl -n kern.boottime").stdout.strip()

    def reboot(self) -> None:
        """macOS restarts itself (`shutdown -r now`)."""
        self._new_boot(lambda: self.trigger("reboot", check=False))

    def _ssh(self, remote: str, stdin: bytes | None, timeout: float) -> subprocess.CompletedProcess:
        if self._config is None:
            raise LabError("the macOS guest is not connected (power_on first)")
        try:
            return subprocess.run(
                ssh_argv(self._config, self.control, remote),
                input=stdin if stdin is not None else b"",
                capture_output=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise LabError(f"client: `{remote}` ran past {timeout:g}s") from None

    def run(
        self,
        command: str,
        *args: object,
        check: bool = True,
        timeout: float = 30.0,
        sudo: bool = False,
        input: str | None = None,
    ) -> CommandResult:
        """Run `command` (%s placeholders quoted, as a Host's) with /bin/sh in the guest."""
        line = command % tuple(shlex.quote(str(a)) for a in args) if args else command
        started = time.time()
        proc = self._ssh(remote_sh(line, sudo), input.encode() if input else None, timeout)
        return self._result(line, started, proc.returncode, proc.stdout, proc.stderr, check)

    def trigger(self, name: str, *args: object, check: bool = True) -> CommandResult:
        """Run vms/scripts/macos/<name>.sh as root, with `args` as its positional parameters."""
        script = (SCRIPTS / f"{name}.sh").read_text()
        line = shlex.join(["/bin/sh", "-s", "--", *map(str, args)])
        return self.run(line, check=check, sudo=True, input=script)

    def put(self, path: str, data: bytes) -> None:
        proc = self._ssh(remote_sh(f"cat > {shlex.quote(path)}", sudo=True), data, 120)
        if proc.returncode != 0:
            raise LabError(f"client: cannot write {path}: {proc.stderr.decode().strip()[-200:]}")

    def get(self, path: str) -> bytes:
        proc = self._ssh(remote_sh(f"cat {shlex.quote(path)}", sudo=True), None, 120)
        if proc.returncode != 0:
            raise LabError(f"client: cannot read {path}: {proc.stderr.decode().strip()[-200:]}")
        return proc.stdout

    def routes(self, family: int = 2) -> list[tuple[str, str | None]]:
        flag = "inet" if family == 2 else "inet6"
        return parse_netstat_routes(self.run("netstat -rn -f %s", flag).stdout, family)


def parse_ifconfig(text: str) -> dict:
    """macOS `ifconfig IF`: {"ether": mac, "inet": [...], "inet6": [...], "status": ...}."""
    facts: dict = {"inet": [], "inet6": []}
    for line in text.splitlines():
        words = line.split()
        if len(words) < 2:
            continue
        if words[0] == "ether":
            facts["ether"] = words[1].lower()
        elif words[0] == "inet":
            facts["inet"].append(words[1])
        elif words[0] == "inet6" and not words[1].lower().startswith("fe80"):
            facts["inet6"].append(words[1].split("%")[0])
        elif words[0] == "status:":
            facts["status"] = words[1]
    return facts


def parse_netstat_routes(text: str, family: int = 2) -> list[tuple[str, str | None]]:
    """macOS `netstat -rn -f inet`: (destination, gateway or None when on-link)."""
    default = "0.0.0.0/0" if family == 2 else "::/0"
    routes = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 3 or words[0] in ("Routing", "Internet:", "Internet6:", "Destination"):
            continue
        dst, gateway = words[0], words[1]
        dst = default if dst == "default" else dst
        on_link = gateway.startswith("link#") or MAC.fullmatch(gateway)
        routes.append((dst, None if on_link else gateway))
    return routes
