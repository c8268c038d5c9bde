"""The guest lane's pieces that need no VM: cases, gate, boot window, the image's hash."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from conformance.cases import BY_ID
from conformance.subject import hook_environment
from netns.tunnel import Tunnel
from vms import gate, guest_files, image
from vms.cases import (
    AS_THEY_ARE,
    GUEST_CASES,
    GUEST_LIMITATIONS,
    GUEST_TRIGGERS,
    USERSPACE_LIMITATION,
    USERSPACE_TUNNEL,
)
from vms.contract import CHECKOUT, GUEST_CODE, _escape, environment
from vms.lane import boot_window


def test_the_guest_cases_are_suite_cases_and_a_power_cut() -> None:
    ids = [c.id for c in GUEST_CASES]
    assert set(AS_THEY_ARE + USERSPACE_TUNNEL) <= set(BY_ID)
    assert sorted(ids[:-2]) == sorted(AS_THEY_ARE + USERSPACE_TUNNEL)
    assert ids[-2:] == ["boot.before-connect", "boot.power-cut"]
    assert [c.id for c in GUEST_CASES if c.limitations.endswith(USERSPACE_LIMITATION)] == [
        c for c in ids if c in USERSPACE_TUNNEL
    ]
    for case in GUEST_CASES:
        if case.id in BY_ID:  # the suite's case, with the guest's limitations
            suite = BY_ID[case.id]
            assert (case.trigger, case.catches, case.probes) == (
                suite.trigger,
                suite.catches,
                suite.probes,
            )
            assert GUEST_LIMITATIONS in case.limitations
    assert all("none" in c.catches and c.trigger in GUEST_TRIGGERS for c in GUEST_CASES)


def _results(tmp_path: Path, verdicts: dict[tuple[str, str], str]) -> Path:
    run = {"profile": "guest", "tools": {}, "leak_classes": ["boot"]}
    results = [
        {"subject": s, "case": c, "leak_class": "boot", "verdict": v, "reason": v.lower()}
        for (s, c), v in verdicts.items()
    ]
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"run": run, "results": results}))
    return path


def test_the_gate_passes_only_a_complete_run(tmp_path: Path, capsys) -> None:
    good = {("reference", c.id): "PASS" for c in GUEST_CASES}
    good |= {("none", c.id): "LEAK" for c in GUEST_CASES}
    args = ["--must-pass", "reference", "--foil", "none"]
    assert gate.main([str(_results(tmp_path, good)), *args]) == 0
    missing = dict(good)
    del missing[("reference", "boot.power-cut")]
    assert gate.main([str(_results(tmp_path, missing)), *args]) == 1
    quiet = {**good, ("none", "boot.power-cut"): "PASS"}
    assert gate.main([str(_results(tmp_path, quiet)), *args]) == 1
    error = {**good, ("reference", "boot.power-cut"): "ERROR"}
    assert gate.main([str(_results(tmp_path, error)), *args]) == 1
    out = capsys.readouterr().out
    assert "reference boot.power-cut: 0 results" in out
    assert "none boot.power-cut: PASS, expected LEAK" in out
    assert "reference boot.power-cut: ERROR, expected PASS" in out
    (tmp_path / "bad.json").write_text("{")
    assert gate.main([str(tmp_path / "bad.json"), *args]) == 2


def test_the_boot_window_counts_what_leaked_between_the_reset_and_the_connect() -> None:
    evidence = {
        "trigger_at": 10.0,
        "events": [
            {"t": 1.0, "kind": "hook", "text": "connect hook"},
            {"t": 10.0, "kind": "trigger", "text": "the computer reboots"},
            {"t": 12.0, "kind": "boot", "text": "reset"},
            {"t": 40.0, "kind": "hook", "text": "connect hook"},
        ],
        "leaked": [{"t": t, "summary": f"at {t}"} for t in (5.0, 11.0, 12.5, 39.9, 41.0)],
    }
    assert boot_window(evidence) == {"from": 12.0, "to": 40.0, "leaked": 2, "first": "at 12.5"}
    assert boot_window({**evidence, "trigger_at": None}) is None


def test_the_images_hash_follows_its_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    before = image.digest()
    assert image.digest() == before
    monkeypatch.setattr(image, "PACKAGES", (*image.PACKAGES, "tcpdump"))
    assert image.digest() != before
    monkeypatch.undo()
    monkeypatch.setitem(guest_files.FILES, "etc/hostname", "other\n")
    assert image.digest() != before


def test_a_missing_cache_entry_is_not_an_image(tmp_path: Path) -> None:
    assert image.cached(tmp_path) is None
    (tmp_path / image.digest()).mkdir()  # a build that died half-way: no manifest
    assert image.cached(tmp_path) is None


def test_systemd_environment_values_are_escaped() -> None:
    assert _escape('a "b" \\ c\nd') == 'a \\"b\\" \\\\ c\\nd'


def test_a_guests_hooks_get_every_variable_the_netns_hooks_get(tmp_path: Path) -> None:
    tunnel = Tunnel.for_lab("wireguard", "wgc0", tmp_path / "wgc0.conf", 51820, ipv6=True)
    lab = SimpleNamespace(tunnel=tunnel, state_dir=tmp_path, run_dir=tmp_path, containers=None)
    guest = environment(tunnel)
    assert set(guest) >= {k for k in hook_environment(lab) if k.startswith("KS_")}
    assert guest["KS_TUNNEL_CONFIG"] == "/var/lib/leakcert/tunnel/wgc0.conf"
    assert guest["KS_ENDPOINT_PROTO"] == "udp"
    assert guest["KS_UPLINK_IF"] == guest_files.UPLINK


def test_the_code_copied_into_the_guest_runs_with_nothing_else(tmp_path: Path) -> None:
    # The guest's python3 has only what GUEST_CODE copies: an import of anything
    # else (the probes once imported netns.topology unseen) fails every guest case.
    for part in GUEST_CODE:
        source, target = CHECKOUT / part, tmp_path / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    imports = "import conformance.probes, netns.stream, enforcer.cli"
    done = subprocess.run(
        ["/usr/bin/python3", "-I", "-c", f"import sys; sys.path.insert(0, '.'); {imports}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
