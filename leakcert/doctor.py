"""`leakcert doctor`: can this machine run the lab? What to install if not.

Checks root, network namespaces, cgroup v2, /dev/net/tun, and every tool the
lab, the probes and the built-in subjects run, each with its Debian package.
Exit 0 when all is there, 1 when something is missing (and the one
`apt-get install` line that adds it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from netns.daemons import OPENVPN_TOOLS, REQUIRED_TOOLS
from netns.errors import LabError
from netns.procs import cgroup2_root
from netns.ra import RA_TOOLS

# What the probes and the built-in subjects run, beyond the lab's own tools.
PROBE_TOOLS = {
    "curl": "curl",
    "dig": "dnsutils",
    "ping": "iputils-ping",
    "getent": "libc-bin",
    "timeout": "coreutils",
    "unshare": "util-linux",
}
SUBJECT_TOOLS = {"wg-quick": "wireguard-tools", "iptables": "iptables"}
TOOLS = REQUIRED_TOOLS | OPENVPN_TOOLS | RA_TOOLS | PROBE_TOOLS | SUBJECT_TOOLS


@dataclass(frozen=True)
class Check:
    what: str
    ok: bool
    fix: str  # what to do when not ok
    package: str = ""  # the Debian package that fixes it, for a missing tool


def checks() -> Iterator[Check]:
    root = os.geteuid() == 0
    yield Check("root", root, "run as root (sudo -i): the lab builds namespaces and nftables")
    yield Check("network namespaces", root and _unshare_net(), "a kernel with network namespaces")
    try:
        cgroup = str(cgroup2_root())
    except LabError:
        cgroup = ""
    yield Check(f"cgroup v2 {cgroup}".strip(), bool(cgroup), "mount a cgroup2 hierarchy")
    yield Check("/dev/net/tun", Path("/dev/net/tun").exists(), "the tun module (modprobe tun)")
    for tool, package in TOOLS.items():
        where = shutil.which(tool)
        found = f"{tool} ({package})" + (f": {where}" if where else "")
        yield Check(found, where is not None, f"install the Debian package {package}", package)


def _unshare_net() -> bool:
    try:
        done = subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def main() -> int:
    missing: list[str] = []
    failed = False
    for check in checks():
        print(
            f"{'ok' if check.ok else 'MISSING':8} {check.what}"
            + ("" if check.ok else f": {check.fix}")
        )
        if not check.ok:
            failed = True
            if check.package and check.package not in missing:
                missing.append(check.package)
    if missing:
        print(f"doctor: to install what is missing: apt-get install -y {' '.join(missing)}")
    print("doctor: this machine can run leakcert" if not failed else "doctor: not ready")
    return 1 if failed else 0
