"""Labs run side by side without touching each other, and nothing outlives them."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from netns import daemons, topology
from netns.errors import LabError
from netns.lab import Lab
from netns.procs import become_subreaper, reap_orphans
from tests.netns.support import leftovers

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parents[2]
WORKER = [sys.executable, "-m", "tests.netns.lab_worker"]


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


def test_a_tool_off_the_path_names_its_package(monkeypatch, tmp_path) -> None:
    # dnsmasq lives in /usr/sbin: off the PATH, the lab's commands cannot run it.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in daemons.REQUIRED_TOOLS:
        if tool != "dnsmasq":
            (bindir / tool).symlink_to(shutil.which(tool))
    monkeypatch.setenv("PATH", str(bindir))
    with pytest.raises(LabError) as error, Lab(tmp_path / "lab"):
        pass
    message = str(error.value)
    assert message.startswith("`dnsmasq` not found: install the Debian package dnsmasq-base")
    assert "\n" not in message


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
