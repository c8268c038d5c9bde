"""What each lab created, so that nothing outlives it.

A lab writes its record before it creates anything and removes it last.
Cleanup deletes exactly what a record names, never by name pattern. A record
whose owner process is dead (a test runner killed with SIGKILL) is swept by
the next lab that starts.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from pyroute2 import netns as pyroute2_netns

from netns.procs import Cgroup

REGISTRY = Path("/run/leakcert/labs")
WIREGUARD_SOCKETS = Path("/var/run/wireguard")
ETC_NETNS = Path("/etc/netns")


def process_start_time(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


@dataclass
class LabRecord:
    """The things one lab created, and who owns them."""

    lab_id: str
    owner_pid: int
    owner_start: int
    namespaces: list[str] = field(default_factory=list)
    cgroup: str = ""
    wireguard_ifs: list[str] = field(default_factory=list)
    workdir: str = ""
    remove_workdir: bool = False

    @classmethod
    def for_this_process(cls, lab_id: str) -> LabRecord:
        pid = os.getpid()
        return cls(lab_id, pid, process_start_time(pid) or 0)

    @property
    def path(self) -> Path:
        return REGISTRY / f"{self.lab_id}.json"

    def owner_alive(self) -> bool:
        return process_start_time(self.owner_pid) == self.owner_start

    def save(self) -> None:
        REGISTRY.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        tmp.replace(self.path)

    def release(self) -> None:
        """Delete everything this record names, then the record itself."""
        if self.cgroup:
            Cgroup(Path(self.cgroup)).remove()
        for name in self.namespaces:
            if name in pyroute2_netns.listnetns():
                pyroute2_netns.remove(name)
            shutil.rmtree(ETC_NETNS / name, ignore_errors=True)
        for ifname in self.wireguard_ifs:
            (WIREGUARD_SOCKETS / f"{ifname}.sock").unlink(missing_ok=True)
        _remove_empty(ETC_NETNS)
        if self.remove_workdir and self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.path.unlink(missing_ok=True)


def _remove_empty(folder: Path) -> None:
    with suppress(OSError):
        folder.rmdir()


@contextmanager
def _locked() -> Iterator[None]:
    REGISTRY.mkdir(parents=True, exist_ok=True)
    with open(REGISTRY / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def records() -> list[LabRecord]:
    """Every record; fields this version does not know (a newer leakcert's) are left out,
    so that what it does know is still swept."""
    known = {f.name for f in fields(LabRecord)}
    found = []
    for path in sorted(REGISTRY.glob("*.json")):
        try:
            data = json.loads(path.read_text())
            found.append(LabRecord(**{k: v for k, v in data.items() if k in known}))
        except (OSError, ValueError, TypeError, AttributeError):
            path.unlink(missing_ok=True)
    return found


def sweep_dead() -> list[str]:
    """Release every lab whose owner is gone; returns their ids."""
    swept = []
    with _locked():
        for record in records():
            if not record.owner_alive():
                record.release()
                swept.append(record.lab_id)
    return swept
