"""One Vagrant machine of a box the user names, for the Windows and macOS guests
(`vms.windows`, `vms.macos`): the `vagrant` commands, and what the provider
needs for the one thing Vagrant has no command for, a power cut.

    machine = VagrantMachine("windows", box="my/windows-11", provider="libvirt", folder=...)
    machine.up(); machine.snapshot_save("clean"); machine.snapshot_restore("clean")
    machine.power_cut_argv()       # e.g. ["VBoxManage", "controlvm", <id>, "reset"]

The Vagrantfiles are in vms/vagrant/<os>/ and read the box and provider from
the environment (LEAKCERT_BOX, LEAKCERT_PROVIDER); nothing here downloads a box.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from netns.errors import LabError

VAGRANT_DIR = Path(__file__).parent / "vagrant"
MACHINE = "guest"
# The providers each guest's Vagrantfile supports, first the default.
PROVIDERS = {
    "windows": ("libvirt", "virtualbox"),
    "macos": ("vmware_desktop", "parallels"),
}


class VagrantMachine:
    """`vagrant` for the machine `guest` of vms/vagrant/<os>/Vagrantfile, on the user's box."""

    def __init__(
        self,
        os_name: str,
        box: str,
        folder: Path,
        provider: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        if os_name not in PROVIDERS:
            raise LabError(f"no Vagrantfile for {os_name!r} (known: {', '.join(PROVIDERS)})")
        if not box:
            raise LabError(f"name the {os_name} box to use (--box): none can be downloaded here")
        provider = provider or PROVIDERS[os_name][0]
        if provider not in PROVIDERS[os_name]:
            known = ", ".join(PROVIDERS[os_name])
            raise LabError(f"the {os_name} guest runs on {known}, not {provider!r}")
        self.os_name = os_name
        self.box = box
        self.provider = provider
        self.folder = folder
        self.extra_env = dict(extra_env or {})

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "VAGRANT_CWD": str(VAGRANT_DIR / self.os_name),
            "VAGRANT_DOTFILE_PATH": str(self.folder / "dot"),
            "VAGRANT_CHECKPOINT_DISABLE": "1",
            "VAGRANT_NO_COLOR": "1",
            "LEAKCERT_BOX": self.box,
            "LEAKCERT_PROVIDER": self.provider,
            **self.extra_env,
        }

    def argv(self, *args: str) -> list[str]:
        return ["vagrant", *args]

    def vagrant(self, *args: str, timeout: float = 1800.0) -> str:
        argv = self.argv(*args)
        try:
            proc = subprocess.run(
                argv, capture_output=True, text=True, errors="replace", env=self.env(),
                timeout=timeout,
            )  # fmt: skip
        except FileNotFoundError:
            raise LabError("vagrant is missing (bin/install-deps installs it)") from None
        except subprocess.TimeoutExpired:
            raise LabError(f"`{' '.join(argv)}` ran past {timeout:g}s") from None
        if proc.returncode != 0:
            lines = [x for x in (proc.stderr or proc.stdout).splitlines() if x.strip()]
            raise LabError(f"`{' '.join(argv)}` failed: {lines[-1] if lines else 'no output'}")
        return proc.stdout

    def up(self) -> None:
        self.vagrant("up", "--provider", self.provider, "--no-provision", MACHINE)

    def halt(self) -> None:
        self.vagrant("halt", "--force", MACHINE)

    def destroy(self) -> None:
        self.vagrant("destroy", "--force", MACHINE)

    def snapshot_save(self, name: str) -> None:
        self.vagrant("snapshot", "save", MACHINE, name)

    def snapshot_restore(self, name: str) -> None:
        self.vagrant("snapshot", "restore", "--no-provision", MACHINE, name)

    @property
    def machine_id(self) -> str:
        """The provider's id of the machine (Vagrant keeps it in its dotfile folder)."""
        path = self.folder / "dot" / "machines" / MACHINE / self.provider / "id"
        try:
            return path.read_text().strip()
        except OSError:
            raise LabError(f"the {self.os_name} guest is not created yet") from None

    def power_cut_argv(self, libvirt_uri: str = "qemu:///system") -> list[str]:
        """The provider's hard reset of the machine: the power cut `vagrant` has no verb for."""
        machine = self.machine_id
        return {
            "libvirt": ["virsh", "-c", libvirt_uri, "reset", machine],
            "virtualbox": ["VBoxManage", "controlvm", machine, "reset"],
            "vmware_desktop": ["vmrun", "reset", machine, "hard"],
            "parallels": ["prlctl", "reset", machine],
        }[self.provider]

    def power_cut(self) -> None:
        argv = self.power_cut_argv()
        proc = subprocess.run(argv, capture_output=True, text=True, errors="replace")
        if proc.returncode != 0:
            raise LabError(f"`{' '.join(argv)}` failed: {proc.stderr.strip()[-200:]}")

    def ssh_config(self) -> dict[str, str]:
        """`vagrant ssh-config`, as {option: value} (HostName, Port, User, IdentityFile)."""
        return parse_ssh_config(self.vagrant("ssh-config", MACHINE))

    def winrm_config(self) -> dict[str, str]:
        """`vagrant winrm-config`, as {option: value} (HostName, Port, User, Password)."""
        return parse_ssh_config(self.vagrant("winrm-config", MACHINE))


def parse_ssh_config(text: str) -> dict[str, str]:
    """`Host guest\\n  HostName 192.0.2.7\\n  Port 22 ...` as {"HostName": "192.0.2.7", ...}."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key and value and key != "Host":
            found.setdefault(key, value.strip().strip('"'))
    return found
