"""The suite's own options are checked before any case runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def subject(folder: Path, name: str) -> str:
    folder.mkdir(parents=True)
    (folder / "subject.toml").write_text(
        f'name = "{name}"\nsummary = "s"\n[hooks]\nconnect = "true"\n'
    )
    return str(folder)


def test_two_subjects_of_one_name_are_refused_before_any_case_runs(tmp_path: Path) -> None:
    first = subject(tmp_path / "a" / "vendor", "vendor")
    second = subject(tmp_path / "b" / "vendor", "vendor")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider"),
            *("--collect-only", "-q", "--subject", first, "--subject", second),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 4, done.stdout + done.stderr
    assert "are both named 'vendor'" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
