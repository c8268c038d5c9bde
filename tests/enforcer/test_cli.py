"""The command line without root: one-line errors, exit statuses, render and boot files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from enforcer import cli
from tests.enforcer.support import REPO

GOOD = ["--tunnel", "wg0", "--endpoint", "203.0.113.1:51820", "--resolver", "10.64.0.1"]


def _run(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "enforcer", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("leakcert-enforcer: ")
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["up", "--tunnel", "wg0", "--endpoint", "203.0.113.256:51820"], "not a valid IP"),
        (["up", "--tunnel", "lo", "--endpoint", "203.0.113.1:51820"], "'lo'"),
        (["up", "--endpoint", "203.0.113.1:51820"], "no tunnel interface"),
        (["up", "--tunnel", "wg0", "--endpoint", "203.0.113.1:0"], "out of range"),
        (["up", *GOOD, "--resolver", "dns.example"], "not a valid IP"),
        (["up", *GOOD, "--bogus"], "unrecognized arguments"),
        (["up", *GOOD, "--mode", "never"], "invalid choice"),
        (["up", *GOOD, "--policy", "/nonexistent.toml"], "either --policy"),
        (["up", "--policy", "/nonexistent.toml"], "cannot read policy"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
        (["render", "--block", *GOOD], "--block takes no policy"),
        (["render", *GOOD, "--pf-user", "vpn"], "--pf-user is for --platform pf only"),
        (["render", "--platform", "wfp", *GOOD, "--pf-script", "up"], "for --platform pf"),
        (["render", "--platform", "pf", *GOOD, "--wfp-app", "C:\\x.exe"], "for --platform wfp"),
        (["render", "--platform", "pf", *GOOD, "--pf-user", "a b"], "not a user name"),
        (["render", "--platform", "pf", "--pf-script", "down", *GOOD], "takes no policy"),
        (["render", "--platform", "pf", "--tunnel", "wg-a", *GOOD[2:]], "BSD interface"),
        (["render", "--platform", "wfp", *GOOD, "--wfp-app", "vpn.exe"], "absolute Windows"),
        (["render", "--platform", "bsd", *GOOD], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], words: str) -> None:
    assert words in _one_line_error(_run(*args))


@pytest.mark.parametrize("command", [["up", *GOOD], ["down"], ["status"], ["block"]])
def test_missing_nft(command: list[str], tmp_path: Path) -> None:
    assert "nft not found" in _one_line_error(_run(*command, path=str(tmp_path)))


def test_render_prints_and_writes(tmp_path: Path) -> None:
    result = _run("render", *GOOD, path=str(tmp_path))  # no nft needed
    assert result.returncode == 0
    assert "table inet leakcert {" in result.stdout
    out = tmp_path / "state" / "enforcer.nft"
    assert cli.main(["render", *GOOD, "--out", str(out)]) == 0
    assert out.read_text() == result.stdout


def test_render_from_policy_file(tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text(
        'tunnels = ["wg0"]\nresolvers = ["10.64.0.1"]\n'
        '[[endpoints]]\naddress = "203.0.113.1"\nport = 51820\n'
    )
    from_file = _run("render", "--policy", str(policy))
    from_flags = _run("render", *GOOD)
    assert from_file.returncode == 0 and from_file.stdout == from_flags.stdout


def test_boot_install_and_remove(tmp_path: Path) -> None:
    assert cli.main(["boot", "install", *GOOD, "--root", str(tmp_path)]) == 0
    ruleset = tmp_path / "etc/leakcert/enforcer.nft"
    unit = (tmp_path / "etc/systemd/system/leakcert-enforcer.service").read_text()
    assert ruleset.read_text() == cli.nftables.render(
        cli.policy_from_args(cli.build_parser().parse_args(["render", *GOOD]))
    )
    for line in (
        "Before=network-pre.target",
        "Wants=network-pre.target",
        "DefaultDependencies=no",
        "ExecStart=/usr/sbin/nft -f /etc/leakcert/enforcer.nft",
    ):
        assert line in unit.splitlines()
    wants = tmp_path / "etc/systemd/system/sysinit.target.wants/leakcert-enforcer.service"
    assert wants.is_symlink()
    assert cli.main(["boot", "install", "--block", "--root", str(tmp_path)]) == 0  # again: fine
    assert "block-all" in ruleset.read_text()
    assert cli.main(["boot", "remove", "--root", str(tmp_path)]) == 0
    assert not any(p.is_file() or p.is_symlink() for p in tmp_path.rglob("*"))
    assert cli.main(["boot", "remove", "--root", str(tmp_path)]) == 0  # absent: fine


def test_boot_install_unwritable_root(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert "leakcert-enforcer: " in _one_line_error(
        _run("boot", "install", *GOOD, "--root", str(blocker))
    )
