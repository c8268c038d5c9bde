"""The pytest plugin in a vendor's folder: no conftest.py, a line per case, colour only
where it belongs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.root


def vendor_run(folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    subject = folder / "our-subject"
    subject.mkdir(exist_ok=True)
    (subject / "subject.toml").write_text(
        'name = "ours"\nsummary = "s"\n[hooks]\nconnect = "exit 3"\n'
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider"),
            *("--leakcert-subject", "./our-subject", "--leakcert-case", "connected.baseline"),
        ],
        cwd=folder,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_vendor_folder_runs_the_suite_with_a_line_per_case(tmp_path: Path) -> None:
    done = vendor_run(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "created: 2/2 workers" in done.stdout  # xdist without being asked
    line = next(x for x in done.stdout.splitlines() if x.startswith("[1/1]"))
    assert line.split()[:4] == ["[1/1]", "ERROR", "ours", "connected.baseline"]
    assert line.endswith("0 left")
    assert "ours: 0 of 1 cases passed; leak classes failed: none; could not judge:" in done.stdout
    assert "FAILED" in done.stdout and "\x1b[" not in done.stdout  # not a terminal


def test_colour_when_forced_and_never_with_no_color(tmp_path: Path) -> None:
    assert "\x1b[" in vendor_run(tmp_path, FORCE_COLOR="1").stdout
    assert "\x1b[" not in vendor_run(tmp_path, FORCE_COLOR="1", NO_COLOR="1").stdout


def test_a_foil_that_errors_is_a_failure_not_an_expected_one(tmp_path: Path) -> None:
    # `none` must leak in connected.nothing-else; a hook that cannot finish in time makes
    # it ERROR, which the strict xfail must not accept (it accepts only a LEAK).
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0"),
            *("--leakcert-subject", "none", "--leakcert-case", "connected.nothing-else"),
            *("--leakcert-hook-timeout", "0.001"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[1/1] ERROR  none" in done.stdout
    assert done.stdout.splitlines()[-1].split()[1:3] == ["1", "failed"]
