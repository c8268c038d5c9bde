"""A case never passes by default: bad subjects and failing hooks are ERROR, a
subject that blocks its own tunnel is BROKEN, and the lab is always cleaned up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conformance.cases import BY_ID
from conformance.runner import run_case
from conformance.verdict import Verdict
from netns import registry

pytestmark = pytest.mark.root

BASELINE = BY_ID["connected.baseline"]


def subject(folder: Path, connect: str, extra: str = "") -> str:
    folder.mkdir(parents=True)
    (folder / "subject.toml").write_text(
        f'name = "{folder.name}"\nsummary = "a test subject"\nvpn = "wireguard"\n'
        f"[hooks]\nconnect = '''{connect}'''\n{extra}"
    )
    return str(folder)


def no_lab_left() -> bool:
    # Only this process's labs: other xdist workers run labs of their own meanwhile.
    return not [r for r in registry.records() if r.owner_pid == os.getpid()]


def test_missing_subject_is_error(tmp_path: Path) -> None:
    result = run_case(str(tmp_path / "nowhere"), BASELINE, tmp_path / "work")
    assert result.verdict is Verdict.ERROR and "no subject.toml" in result.reason


def test_failing_connect_hook_is_error_with_its_output(tmp_path: Path) -> None:
    ref = subject(tmp_path / "failing", "echo cannot reach the VPN service >&2; exit 3")
    result = run_case(ref, BASELINE, tmp_path / "work")
    assert result.verdict is Verdict.ERROR
    assert result.reason == "connect hook exited 3: cannot reach the VPN service"
    assert result.evidence["hooks"][0]["output"].strip() == "cannot reach the VPN service"
    assert no_lab_left()


def test_hanging_hook_is_error_and_the_lab_is_cleaned(tmp_path: Path) -> None:
    ref = subject(tmp_path / "hanging", "sleep 600")
    result = run_case(ref, BASELINE, tmp_path / "work", hook_timeout=1.0)
    assert result.verdict is Verdict.ERROR and "ran past its timeout" in result.reason
    assert no_lab_left()


def test_failing_boot_hook_is_error(tmp_path: Path) -> None:
    ref = subject(tmp_path / "badboot", "true", extra="boot = 'exit 1'\n")
    result = run_case(ref, BASELINE, tmp_path / "work")
    assert result.verdict is Verdict.ERROR and result.reason.startswith("boot hook exited 1")


def test_a_subject_that_blocks_everything_is_broken(tmp_path: Path) -> None:
    block_all = (
        "nft add table inet wall && "
        "nft add chain inet wall out '{ type filter hook output priority 0; policy drop; }' && "
        "nft add rule inet wall out oifname lo accept"
    )
    result = run_case(subject(tmp_path / "wall", block_all), BASELINE, tmp_path / "work")
    assert result.verdict is Verdict.BROKEN, result.reason
    assert "got no answer" in result.reason
