"""`leakcert doctor` names what is missing and the Debian package that brings it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from leakcert.doctor import TOOLS


def doctor(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leakcert", "doctor"],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_missing_tool_is_named_with_its_package(tmp_path: Path) -> None:
    # A PATH with every tool of the machine but dig.
    for tool in TOOLS:
        where = shutil.which(tool)
        if where and tool != "dig":
            (tmp_path / tool).symlink_to(where)
    done = doctor(str(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "MISSING  dig (dnsutils): install the Debian package dnsutils" in done.stdout
    assert "apt-get install -y dnsutils" in done.stdout.splitlines()[-2]
    assert "Traceback" not in done.stderr


def test_every_missing_tool_is_one_package_in_the_install_line(tmp_path: Path) -> None:
    done = doctor(str(tmp_path))  # an empty PATH: nothing is there
    assert done.returncode == 1
    install = next(line for line in done.stdout.splitlines() if "apt-get install" in line)
    packages = install.split("apt-get install -y ")[1].split()
    assert sorted(packages) == sorted(set(TOOLS.values()))
    assert done.stdout.splitlines()[-1] == "doctor: not ready"


def test_a_ready_machine_says_so() -> None:
    if os.geteuid() != 0 or any(shutil.which(t) is None for t in TOOLS):
        import pytest

        pytest.skip("needs root and every tool (bin/install-deps)")
    done = doctor(os.environ["PATH"])
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines()[-1] == "doctor: this machine can run leakcert"
