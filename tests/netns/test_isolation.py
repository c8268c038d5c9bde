"""Labs run side by side without touching each other, and nothing outlives them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from netns import registry, topology
from netns.errors import LabError
from netns.lab import Lab
from netns.procs import become_subreaper, cgroup2_root, reap_orphans

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parents[2]
WORKER = [sys.executable, "-m", "tests.netns.lab_worker"]


def leftovers(lab_id: str) -> list[str]:
    """Everything on this machine that still carries the lab's id."""
    found = (
        [n for n in os.listdir("/run/netns") if lab_id in n] if Path("/run/netns").exists() else []
    )
    if registry.ETC_NETNS.exists():
        found += [f"/etc/netns/{n}" for n in os.listdir(registry.ETC_NETNS) if lab_id in n]
    found += (
        [f"/var/run/wireguard/{n}" for n in os.listdir("/var/run/wireguard") if lab_id in n]
        if Path("/var/run/wireguard").exists()
        else []
    )
    if (cgroup2_root() / "leakcert" / lab_id).exists():
        found.append(f"cgroup {lab_id}")
    if (registry.REGISTRY / f"{lab_id}.json").exists():
        found.append(f"record {lab_id}")
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if lab_id in cmdline:
                found.append(f"process {pid}: {cmdline[:60]}")
    return found


def test_four_labs_side_by_side(tmp_path) -> None:
    workers = [
        subprocess.Popen(
            [*WORKER, str(tmp_path / f"lab{i}")], cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        for i in range(4)
    ]
    reports = []
    for worker in workers:
        out, _ = worker.communicate(timeout=180)
        assert worker.returncode == 0, out
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert len({r["lab_id"] for r in reports}) == 4
    for report in reports:
        # Each lab's wire saw only its own client: no frame of another lab crossed over.
        assert report["foreign_macs"] == [], report
        assert report["through_tunnel"] == "leakcert web host\n"
        assert report["stun_mapped"] == topology.CLIENT_TUNNEL4
        assert leftovers(report["lab_id"]) == []


def test_sigkilled_runner_is_swept_by_the_next_lab(tmp_path) -> None:
    # Orphans of the killed runner are reparented to us and reaped here, as an
    # init that reaps would do.
    become_subreaper()
    runner = subprocess.Popen(
        [*WORKER, str(tmp_path / "killed"), "--hold"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    lab_id = json.loads(runner.stdout.readline())["lab_id"]
    assert leftovers(lab_id), "the runner should have built its lab"
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    runner.stdout.close()
    assert leftovers(lab_id), "a SIGKILL leaves the lab behind until the next sweep"
    with Lab(tmp_path / "next") as lab:
        assert lab.lab_id != lab_id
        reap_orphans()
        assert leftovers(lab_id) == []
    assert leftovers(lab.lab_id) == []


def test_missing_tool_is_one_line(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(
        __import__("netns.daemons").daemons.REQUIRED_TOOLS, "no-such-daemon", "no-such-package"
    )
    with pytest.raises(LabError) as error:
        Lab(tmp_path).build()
    assert (
        str(error.value) == "`no-such-daemon` not found: install the Debian package no-such-package"
    )


def test_daemon_that_fails_to_start_cleans_up(monkeypatch, tmp_path) -> None:
    # The resolver is told to listen on an address its host does not have.
    broken = topology.Service("dns", "192.0.2.254", "2001:db8:ff::53", 53)
    monkeypatch.setattr(topology, "RESOLVER", broken)
    lab = Lab(tmp_path)
    with pytest.raises(LabError) as error, lab:
        pass
    message = str(error.value)
    assert "\n" not in message and "dnsmasq" in message and "192.0.2.254" in message
    assert leftovers(lab.lab_id) == []
