"""A case never passes by default: bad subjects and failing hooks are ERROR, a
subject that blocks its own tunnel is BROKEN, and the lab is always cleaned up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conformance import runner
from conformance.cases import BY_ID
from conformance.judge import Verdict
from conformance.runner import run_case
from netns import registry

pytestmark = pytest.mark.root

BASELINE = BY_ID["connected.baseline"]
# `none`'s connect: a tunnel without a kill switch.
NONE_CONNECT = (
    'echo "nameserver $KS_VPN_DNS" > /etc/resolv.conf && '
    'WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up "$KS_TUNNEL_CONFIG"'
)


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


def test_hanging_hook_is_error_with_its_output_and_the_lab_is_cleaned(tmp_path: Path) -> None:
    ref = subject(tmp_path / "hanging", "echo waiting for the VPN service; sleep 600")
    result = run_case(ref, BASELINE, tmp_path / "work", hook_timeout=1.0)
    assert result.verdict is Verdict.ERROR and "ran past its timeout" in result.reason
    assert result.evidence["hooks"][0]["output"] == "waiting for the VPN service\n"
    assert no_lab_left()


def test_a_hook_that_leaves_a_child_on_its_output_returns_at_once(tmp_path: Path) -> None:
    # The child keeps the hook's output open for 600 s: the hook has returned all the same.
    ref = subject(tmp_path / "child", NONE_CONNECT + "; sleep 600 & echo started")
    result = run_case(ref, BASELINE, tmp_path / "work", hook_timeout=10.0)
    assert result.verdict is not Verdict.ERROR, result.reason
    assert result.evidence["hooks"][0]["exit"] == 0
    assert result.evidence["hooks"][0]["output"].endswith("started\n")
    # The client's kernel settings are the evidence's too (a desktop's: rp_filter 0).
    assert result.evidence["sysctls"]["net.ipv4.conf.uplink.rp_filter"] == "0"
    assert no_lab_left()


def test_a_hook_that_prints_bytes_that_are_not_utf8_is_error_with_its_output(
    tmp_path: Path,
) -> None:
    ref = subject(tmp_path / "bytes", r"printf 'caf\351 \377\n'; exit 3")
    result = run_case(ref, BASELINE, tmp_path / "work")
    assert result.verdict is Verdict.ERROR
    assert result.reason == "connect hook exited 3: caf\ufffd \ufffd"
    assert result.evidence["hooks"][0]["output"] == "caf\ufffd \ufffd\n"
    assert no_lab_left()


def test_a_hook_that_deletes_the_uplink_is_error_in_one_line(tmp_path: Path) -> None:
    ref = subject(tmp_path / "cutter", 'ip link del "$KS_UPLINK_IF" && echo cut')
    result = run_case(ref, BASELINE, tmp_path / "work")
    assert result.verdict is Verdict.ERROR
    assert "uplink" in result.reason and "\n" not in result.reason, result.reason
    assert result.evidence["hooks"][0]["output"] == "cut\n"
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


def test_a_fault_of_ours_is_error_in_one_line_and_the_lab_is_cleaned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_trigger(run):
        raise KeyError("no such primitive")
        yield

    monkeypatch.setitem(runner.TRIGGERS, BASELINE.trigger, broken_trigger)
    # A working tunnel, so that the case reaches its trigger.
    ref = subject(tmp_path / "plain", NONE_CONNECT)
    result = run_case(ref, BASELINE, tmp_path / "work")
    assert result.verdict is Verdict.ERROR, result.reason
    assert result.reason.startswith("leakcert fault: KeyError: 'no such primitive' (at ")
    assert "\n" not in result.reason
    assert no_lab_left()


def test_a_capture_the_judge_cannot_read_is_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(pcap):
        raise ValueError("truncated record")

    monkeypatch.setattr(runner, "read_wire", unreadable)
    result = run_case(subject(tmp_path / "plain", "true"), BASELINE, tmp_path / "work")
    assert result.verdict is Verdict.ERROR
    assert result.reason == "the capture could not be judged: ValueError: truncated record"
    assert no_lab_left()


def test_a_crash_hook_that_kills_nothing_is_error(tmp_path: Path) -> None:
    # A subject may not make its own crash a no-op and collect a PASS.
    ref = subject(tmp_path / "immortal", NONE_CONNECT, extra="crash = 'true'\n")
    result = run_case(ref, BY_ID["crash.client"], tmp_path / "work")
    assert result.verdict is Verdict.ERROR
    assert result.reason == "the VPN client's crash killed no process of the subject"
    assert no_lab_left()
