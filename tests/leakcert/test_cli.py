"""The `leakcert` command: bad input is one line and exit 2; listings name what exists."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cases import for_profile


def leakcert(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leakcert", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("certify", "/nonexistent/subject"), "no subject.toml in /nonexistent/subject"),
        (("certify", "reference", "--case", "nothing.*"), "no case of the seed profile matches"),
        (("certify", "reference", "--profile", "weekly"), "invalid choice: 'weekly'"),
        (("certify",), "the following arguments are required: subject"),
        (("report", "/nonexistent.json", "--out", "x"), "no such file"),
        (("gate", "/nonexistent.json"), "no such file"),
        (("frobnicate",), "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], says: str) -> None:
    done = leakcert(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in one_line(done)


def test_an_earlier_certificate_is_never_left_for_this_runs(tmp_path: Path) -> None:
    (tmp_path / "certificate.json").write_text('{"verdict": "PASS"}')
    (tmp_path / "badge.svg").write_text("<svg/>")
    done = leakcert("certify", str(tmp_path / "no-such-subject"), "--out", str(tmp_path))
    assert done.returncode == 2
    assert not (tmp_path / "certificate.json").exists()
    assert not (tmp_path / "badge.svg").exists()


def test_cases_lists_every_case_with_its_class_and_requirement() -> None:
    done = leakcert("cases", "--profile", "always-on")
    assert done.returncode == 0
    for case in for_profile("always-on"):
        line = next(x for x in done.stdout.splitlines() if x.split()[:1] == [case.id])
        assert line.split()[1] == case.leak_class
    assert done.stdout.count("requires: ") == len(for_profile("always-on"))


def test_subjects_lists_the_built_in_ones() -> None:
    names = [line.split()[0] for line in leakcert("subjects").stdout.splitlines()]
    assert {"reference", "none", "foil-watcher"} <= set(names)


@pytest.mark.root
def test_a_subject_that_cannot_connect_is_certified_error(tmp_path: Path) -> None:
    subject = tmp_path / "vendor"
    subject.mkdir()
    (subject / "subject.toml").write_text(
        'name = "vendor"\nsummary = "s"\n[hooks]\nconnect = "echo no tunnel today; exit 3"\n'
    )
    done = leakcert(
        "certify", str(subject), "--case", "connected.baseline", "-n", "0", "--out", "out",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    cert = json.loads((tmp_path / "out" / "certificate.json").read_text())
    assert cert["verdict"] == "ERROR"
    assert cert["cases"][0]["reason"] == "connect hook exited 3: no tunnel today"
    assert (tmp_path / "out" / "report" / "index.html").is_file()
    assert done.stdout.splitlines()[-1] == "leakcert: vendor ERROR 0/1"
