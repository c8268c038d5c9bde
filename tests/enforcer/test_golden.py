"""Golden files: each platform's artifact for a few policies, reviewed once and kept byte for byte.

tests/enforcer/golden/CASE/policy.toml is the input (no policy.toml: block-all)
and the files beside it are what each renderer must print for it. A change to
a renderer shows here as a diff to review; when the change is meant, write the
new artifact over the golden file (`python -m enforcer render --platform ...
--policy .../policy.toml --out ...`) and review that diff in the commit.
"""

from __future__ import annotations

import difflib
import json
import os
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from enforcer import pf, platforms, wfp
from enforcer.policy import Policy, load
from tests.enforcer.support import REPO

GOLDEN = Path(__file__).with_name("golden")
APP = "C:\\Program Files\\OpenVPN\\bin\\openvpn.exe"
CASES = ("session", "always-on", "ipv6-allowed", "ipv6-blocked", "lan", "block-all")
# Each platform's artifact, and the render options it is given per case.
ARTIFACTS = {
    "nftables.nft": ("nftables", {}),
    "pf.conf": ("pf", {}),
    "wfp.json": ("wfp", {}),
}
# The always-on case also narrows the endpoints to the tunnel's user / program,
# and shows pf's up script and boot LaunchDaemon; down and launchd take no policy.
EXTRA = {
    ("always-on", "pf.conf"): {"pf_user": "_leakcert"},
    ("always-on", "wfp.json"): {"wfp_app": APP},
}
SCRIPTS = {
    ("always-on", "pf-up.sh"): {"pf_user": "_leakcert", "pf_script": "up"},
    ("block-all", "pf-up.sh"): {"pf_script": "up"},
    ("block-all", "pf-down.sh"): {"pf_script": "down"},
    ("always-on", "pf-launchd.plist"): {"pf_script": "launchd"},
}


def _policy(case: str) -> Policy | None:
    path = GOLDEN / case / "policy.toml"
    return load(path) if path.exists() else None


def _expected_files() -> dict[tuple[str, str], tuple[str, dict[str, str]]]:
    files = {}
    for case in CASES:
        for name, (platform, options) in ARTIFACTS.items():
            files[(case, name)] = (platform, {**options, **EXTRA.get((case, name), {})})
    for key, options in SCRIPTS.items():
        files[key] = ("pf", options)
    return files


FILES = _expected_files()


def _assert_same(path: Path, rendered: str) -> None:
    golden = path.read_text()
    if rendered != golden:
        diff = difflib.unified_diff(
            golden.splitlines(keepends=True),
            rendered.splitlines(keepends=True),
            fromfile=f"{path.relative_to(REPO)} (golden)",
            tofile="rendered",
        )
        pytest.fail("rendered artifact differs from its golden file:\n" + "".join(diff))


@pytest.mark.parametrize(
    ("case", "name"), sorted(FILES), ids=[f"{c}/{n}" for c, n in sorted(FILES)]
)
def test_artifact_matches_its_golden_file(case: str, name: str) -> None:
    platform, options = FILES[(case, name)]
    policy = None if options.get("pf_script") in ("down", "launchd") else _policy(case)
    _assert_same(GOLDEN / case / name, platforms.render(platform, policy, **options))


def test_no_golden_file_is_stale() -> None:
    on_disk = {(p.parent.name, p.name) for p in GOLDEN.glob("*/*") if p.name != "policy.toml"}
    assert on_disk == set(FILES)
    assert {p.parent.name for p in GOLDEN.glob("*/policy.toml")} == set(CASES) - {"block-all"}


def _cli_flags(case: str, options: dict[str, str]) -> list[str]:
    flags = (
        []
        if options.get("pf_script") in ("down", "launchd")
        else (
            ["--block"]
            if _policy(case) is None
            else ["--policy", str(GOLDEN / case / "policy.toml")]
        )
    )
    for key, value in options.items():
        flags += [f"--{key.replace('_', '-')}", value]
    return flags


@pytest.mark.parametrize("case", CASES)
def test_the_command_prints_the_golden_files(case: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for (file_case, name), (platform, options) in sorted(FILES.items()):
        if file_case != case:
            continue
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "enforcer",
                "render",
                "--platform",
                platform,
                *_cli_flags(case, options),
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        _assert_same(GOLDEN / case / name, result.stdout)


@pytest.mark.parametrize(
    "name", ["always-on/pf-up.sh", "block-all/pf-up.sh", "block-all/pf-down.sh"]
)
def test_pf_scripts_are_posix_sh(name: str) -> None:
    # macOS runs them with /bin/sh: shellcheck (bin/install-deps) holds them to POSIX sh.
    shellcheck = shutil.which("shellcheck")
    assert shellcheck is not None, "shellcheck not found: run bin/install-deps"
    result = subprocess.run(
        [shellcheck, "--shell=sh", str(GOLDEN / name)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def test_launchd_job_runs_the_up_script_at_boot() -> None:
    job = plistlib.loads((GOLDEN / "always-on" / "pf-launchd.plist").read_bytes())
    assert job["RunAtLoad"] is True
    assert job["ProgramArguments"] == ["/bin/sh", pf.UP_SCRIPT_PATH]


@pytest.mark.parametrize("case", CASES)
def test_wfp_golden_file_is_the_document(case: str) -> None:
    options = EXTRA.get((case, "wfp.json"), {})
    document = wfp.render_document(_policy(case), options.get("wfp_app"))
    assert json.loads((GOLDEN / case / "wfp.json").read_text()) == document
