"""The guest lane's pieces that need no VM: cases, gate, boot window, the image's hash,
the guest's uplink and its Wi-Fi events."""

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
from vms import gate, guest_files, image, wifi
from vms.cases import (
    AS_THEY_ARE,
    GUEST_CASES,
    GUEST_LIMITATIONS,
    GUEST_TRIGGERS,
    USERSPACE_LIMITATION,
    USERSPACE_TUNNEL,
    WIFI_CASES,
)
from vms.contract import CHECKOUT, GUEST_CODE, _escape, environment
from vms.guest import QemuGuest
from vms.lane import boot_window


def test_the_guest_cases_are_suite_cases_and_a_power_cut() -> None:
    ids = [c.id for c in GUEST_CASES]
    assert set(AS_THEY_ARE + USERSPACE_TUNNEL) <= set(BY_ID)
    assert sorted(ids[:-4]) == sorted(AS_THEY_ARE + USERSPACE_TUNNEL)
    assert ids[-4:] == [
        "boot.before-connect",
        "boot.power-cut",
        "network.wifi-reconnect",
        "roam.access-point",
    ]
    assert [c.id for c in GUEST_CASES if c.limitations.endswith(USERSPACE_LIMITATION)] == [
        c for c in ids if c in USERSPACE_TUNNEL
    ]
    assert frozenset({"network.wifi-reconnect", "roam.access-point"}) == WIFI_CASES
    # The guest's own triggers: the access point drops the station (not the suite's
    # carrier), or goes away for a second one (not the suite's wire moved under a carrier).
    assert GUEST_TRIGGERS["wifi_reconnect"].__module__ == "vms.cases"
    assert GUEST_TRIGGERS["wifi_roam"].__module__ == "vms.cases"
    roam = next(c for c in GUEST_CASES if c.id == "roam.access-point")
    assert roam.catches == BY_ID["roam.other-network"].catches
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
    assert environment(tunnel, guest_files.STATION)["KS_UPLINK_IF"] == "wlan0"


HOSTAPD_LOG = """\
1764170000.000001: ap0: interface state UNINITIALIZED->ENABLED
1764170000.500000: 1764170000.500010: ap0: STA 02:00:00:00:01:00 IEEE 802.11: associated (aid 1)
1764170000.600000: ap0: AP-STA-CONNECTED 02:00:00:00:01:00
1764170100.100000: ap0: AP-STA-DISCONNECTED 02:00:00:00:01:00
1764170100.100100: 1764170100.100110: ap0: STA 02:00:00:00:01:00 IEEE 802.11: deauthenticated
1764170101.200000: ap0: STA 02:00:00:00:09:00 IEEE 802.11: associated (aid 2)
1764170101.300000: 1764170101.300010: ap0: STA 02:00:00:00:01:00 IEEE 802.11: associated (aid 1)
garbage: not a line of hostapd's
1764170101.400000: ap0: AP-STA-CONNECTED 02:00:00:00:01:00
"""


def test_the_access_points_log_gives_the_stations_association_events_at_their_times() -> None:
    events = wifi.association_events(HOSTAPD_LOG, 1764170050.0, "02:00:00:00:01:00")
    assert [t for t, _ in events] == [1764170100.1, 1764170100.1001, 1764170101.3, 1764170101.4]
    texts = [text for _, text in events]
    assert "is disconnected from" in texts[0] and "AP-STA-DISCONNECTED" in texts[0]
    assert "is deauthenticated by" in texts[1]
    assert "associates with the access point ap0" in texts[2] and "(aid 1)" in texts[2]
    assert "may send (WPA2 keys set) through" in texts[3]
    # Before the case began, and another station's: not this case's timeline.
    assert len(wifi.association_events(HOSTAPD_LOG, 0.0, "02:00:00:00:01:00")) == 6
    assert wifi.association_events(HOSTAPD_LOG, 0.0, "02:00:00:00:02:00") == []


def test_the_guest_boots_wifi_only_when_its_kernel_line_says_so(tmp_path: Path) -> None:
    built = image.Image(tmp_path)
    wired = QemuGuest(built, tmp_path / "a", None, None, [])
    wifi_guest = QemuGuest(
        built, tmp_path / "b", None, None, [], f"{image.KERNEL_ARGS} {guest_files.WIFI_ARG}"
    )
    assert wired.argv()[wired.argv().index("-append") + 1] == image.KERNEL_ARGS
    line = wifi_guest.argv()[wifi_guest.argv().index("-append") + 1]
    assert guest_files.WIFI_ARG in line.split()


def test_the_uplink_script_writes_eth0_without_the_wifi_argument(tmp_path: Path) -> None:
    # The wired path of the script, run here against a fake /proc/cmdline and /run:
    # the stanza ifupdown sources is eth0's, and nothing of the Wi-Fi's runs.
    script = guest_files.UPLINK_SCRIPT.replace("/proc/cmdline", str(tmp_path / "cmdline"))
    script = script.replace("/run/network", str(tmp_path / "network"))
    (tmp_path / "cmdline").write_text(image.KERNEL_ARGS + "\n")
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    stanza = (tmp_path / "network" / "leakcert-uplink").read_text()
    assert stanza == "auto eth0\niface eth0 inet dhcp\n"
    interfaces = guest_files.FILES["etc/network/interfaces"]
    assert f"source {guest_files.UPLINK_STANZA}" in interfaces
    (tmp_path / "cmdline").write_text(f"{image.KERNEL_ARGS} {guest_files.WIFI_ARG}\n")
    # With the argument it goes on to the radios (which this machine has not).
    done = subprocess.run(
        ["sh", "-c", script.replace("modprobe", "echo radios; exit 9; modprobe")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (9, "radios\n")


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
