"""Helpers for the lab's tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from netns import registry
from netns.lab import Lab
from netns.procs import cgroup2_root


def tunnel_up(lab: Lab) -> None:
    """Bring the lab's WireGuard tunnel up on the client with plain wg-quick (no kill switch)."""
    lab.client.run(
        "WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up %s",
        lab.tunnel.config,
        cgroup=lab.subject_cgroup,
    )


def _names(folder: Path, lab_id: str) -> list[str]:
    return [n for n in os.listdir(folder) if lab_id in n] if folder.exists() else []


def leftovers(lab_id: str, workdir: Path | None = None) -> list[str]:
    """Everything on this machine that still carries the lab's id (or lies in its workdir).

    Namespaces, /etc/netns entries, wireguard sockets, the lab's cgroup, files
    in the registry, processes, mounts, and nftables tables in the machine's
    own network namespace (a lab creates none there: one is an escape).
    """
    marks = [lab_id, *([str(workdir)] if workdir else [])]
    found = _names(Path("/run/netns"), lab_id)
    found += [f"/etc/netns/{n}" for n in _names(registry.ETC_NETNS, lab_id)]
    found += [f"/var/run/wireguard/{n}" for n in _names(Path("/var/run/wireguard"), lab_id)]
    if (cgroup2_root() / "leakcert" / lab_id).exists():
        found.append(f"cgroup {lab_id}")
    found += [f"registry {n}" for n in _names(registry.REGISTRY, lab_id)]
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if any(mark in cmdline for mark in marks):
                found.append(f"process {pid}: {cmdline[:60]}")
    mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    found += [f"mount {line}" for line in mounts if any(mark in line for mark in marks)]
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    found += [f"nft {line}" for line in tables.splitlines() if lab_id in line]
    return found
