"""python -m vms.other_os --os windows|macos --box NAME [--provider P] [--bridge IF]

Brings up a guest of a box you have (Windows over WinRM, macOS over SSH) and
walks the guest contract on it: a command, a file there and back, the
uplink's facts, a link trigger down and up, the probes, a snapshot saved and
restored, an orderly reboot and a power cut; then destroys the machine.
Exit 0 only if every step did what it should; 2 with one line if not.

These guests cannot run on the machines leakcert is built on (no Windows or
macOS box can be downloaded there, and macOS needs Apple hardware): this is
the command for those who have one.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from netns.errors import LabError
from vms.macos import MacGuest
from vms.vagrant_machine import PROVIDERS, VagrantMachine
from vms.windows import WindowsGuest

# The uplink's name in each OS, unless --uplink names another.
UPLINKS = {"windows": "Ethernet", "macos": "en0"}


def make_guest(
    os_name: str, box: str, folder: Path, provider: str | None, bridge: str | None
) -> WindowsGuest | MacGuest:
    env = {"LEAKCERT_BRIDGE": bridge} if bridge else {}
    machine = VagrantMachine(os_name, box, folder, provider, env)
    return WindowsGuest(machine) if os_name == "windows" else MacGuest(machine)


def walk(guest: WindowsGuest | MacGuest, uplink: str, log=print) -> None:
    """The guest contract on a running guest; raises LabError at the first step that fails."""
    windows = isinstance(guest, WindowsGuest)
    echo = guest.run("Write-Output %s" if windows else "echo %s", "a b'c")
    _expect(echo.stdout.strip() == "a b'c", f"a command's output came back as {echo.stdout!r}")
    path = "C:\\Windows\\Temp\\leakcert.bin" if windows else "/tmp/leakcert.bin"
    guest.put(path, bytes(range(256)))
    _expect(guest.get(path) == bytes(range(256)), "a file did not come back as it went")
    link = guest.interface(uplink)
    addresses = link.addresses()
    _expect(bool(addresses), f"{uplink} has no IPv4 address")
    log(f"{uplink}: {link.mac} {addresses}")
    if windows:
        guest.trigger("link", Name=uplink, State="down")
        _expect(not link.carrier, f"{uplink} still has carrier after the link trigger")
        guest.trigger("link", Name=uplink, State="up")
        probe = guest.trigger("probe-tcp", Address=addresses[0], Port=1, TimeoutMs=1000)
    else:
        guest.trigger("link", uplink, "down")
        _expect(not link.carrier, f"{uplink} is still active after the link trigger")
        guest.trigger("link", uplink, "up")
        probe = guest.trigger("probe-tcp", addresses[0], 1, 1)
    _expect("reached" in json.loads(probe.stdout), f"the TCP probe printed {probe.stdout!r}")
    guest.save("leakcert-walk")
    marker = "C:\\Windows\\Temp\\leakcert.after" if windows else "/tmp/leakcert.after"
    guest.put(marker, b"x")
    guest.restore("leakcert-walk")
    gone = guest.run(
        "Test-Path -LiteralPath %s" if windows else "test -e %s && echo True || echo False", marker
    )
    _expect(gone.stdout.strip() == "False", "a file made after the snapshot survived its restore")
    guest.reboot()
    guest.reset()


def _expect(ok: bool, failure: str) -> None:
    if not ok:
        raise LabError(failure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vms.other_os", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--os", required=True, choices=sorted(PROVIDERS), dest="os_name")
    parser.add_argument("--box", required=True, help="the name of a box you have added")
    parser.add_argument("--provider", help="the Vagrant provider (default: the OS's first)")
    parser.add_argument("--bridge", help="the host adapter or bridge of the lab's LAN")
    parser.add_argument("--uplink", help="the guest's uplink (default: Ethernet / en0)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="leakcert-other-os-") as tmp:
        try:
            guest = make_guest(args.os_name, args.box, Path(tmp), args.provider, args.bridge)
        except LabError as exc:
            print(f"vms: {exc}", file=sys.stderr)
            return 2
        try:
            guest.power_on()
            walk(guest, args.uplink or UPLINKS[args.os_name])
        except LabError as exc:
            print(f"vms: {args.os_name}: {exc}", file=sys.stderr)
            return 2
        finally:
            try:
                guest.machine.destroy()
            except LabError as exc:
                print(f"vms: {args.os_name}: cleanup: {exc}", file=sys.stderr)
    print(f"vms: the {args.os_name} guest of {args.box} keeps the guest contract")
    return 0


if __name__ == "__main__":
    sys.exit(main())
