"""leakcert as a vendor gets it: a wheel in a fresh virtualenv, run from an empty folder
outside the checkout, on subject folders made on the spot; and the commands of the
ready-made CI files in docs/ci/, run as they are written (apt-get simulated, sudo a
no-op: these tests run as root on a machine that has the packages).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conformance.subject import BUILTIN
from leakcert.doctor import TOOLS

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parents[2]
CI = REPO / "docs" / "ci"
CASE = "connected.nothing-else"  # `none` leaks here: a short case that tells apart


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools builds in the source tree, and each xdist
    # worker builds its own wheel at the same time.
    source = out / "source"
    leftovers = (".tox", ".git", "build", "results", "__pycache__", "*.egg-info")
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*leftovers))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(out.glob("leakcert-*.whl"))


def environment(**extra: str) -> dict[str, str]:
    """The machine's environment without what would point into the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return {**env, **extra}


def subject(folder: Path, builtin: str, name: str) -> Path:
    """A vendor's folder: a built-in subject's files under a name of its own."""
    shutil.copytree(BUILTIN / builtin, folder)
    toml = folder / "subject.toml"
    lines = toml.read_text().splitlines()
    toml.write_text("\n".join(f'name = "{name}"' if x.startswith("name =") else x for x in lines))
    return folder


def run(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=environment(**env), capture_output=True, text=True, timeout=600
    )


def test_an_installed_wheel_certifies_from_an_empty_folder(wheel: Path, tmp_path: Path) -> None:
    venv, folder = tmp_path / "venv", tmp_path / "vendor"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    done = run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], tmp_path)
    assert done.returncode == 0, done.stderr
    folder.mkdir()
    show = "import conformance; print(conformance.__file__)"
    where = run([str(venv / "bin" / "python"), "-c", show], folder)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout + where.stderr

    holds = subject(folder / "holds", "reference", "vendor-holds")
    leaks = subject(folder / "leaks", "none", "vendor-leaks")
    leakcert = str(venv / "bin" / "leakcert")
    done = run([leakcert, "certify", "./holds", "--case", CASE, "--out", "out-holds"], folder)
    assert done.returncode == 0, done.stdout + done.stderr
    cert = json.loads((folder / "out-holds" / "certificate.json").read_text())
    assert (cert["verdict"], cert["subject"]["name"], cert["passed"]) == ("PASS", "vendor-holds", 1)
    # The reference's copy includes nothing: its digest with includes is its folder's.
    assert len(cert["subject"]["folder_sha256"]) == 64
    assert cert["subject"]["sha256"] == cert["subject"]["folder_sha256"]
    assert (folder / "out-holds" / "badge.svg").is_file()
    assert (folder / "out-holds" / "certificate.html").is_file()
    assert (folder / "out-holds" / "report" / "index.html").is_file()

    done = run([leakcert, "certify", str(leaks), "--case", CASE, "--out", "out-leaks"], folder)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "leakcert: vendor-leaks LEAK 0/1"

    # The plugin alone, as a vendor's own pytest runs it: no conftest.py anywhere here.
    assert not list(folder.rglob("conftest.py"))
    argv = [str(venv / "bin" / "pytest"), "-p", "no:cacheprovider", "--leakcert-case", CASE]
    done = run([*argv, "--leakcert-subject", str(holds), "--leakcert-subject", "none"], folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 1 xfailed" in done.stdout.splitlines()[-1]
    assert "FAILED" not in done.stdout
    assert "PASS   vendor-holds" in done.stdout and "LEAK   none" in done.stdout


def shims(folder: Path) -> Path:
    """sudo that just runs its command (we are root); apt-get that only simulates, and logs."""
    folder.mkdir()
    (folder / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    (folder / "apt-get").write_text(
        '#!/bin/sh\necho "$*" >> "$0.log"\n'
        '[ "$1" = update ] && exit 0\nexec /usr/bin/apt-get -s "$@" >/dev/null\n'
    )
    for shim in ("sudo", "apt-get"):
        (folder / shim).chmod(0o755)
    return folder


def ci_commands(name: str) -> list[str]:
    data = yaml.safe_load((CI / name).read_text())
    if name == "github-actions.yml":
        steps = data["jobs"]["certify"]["steps"]
        return [step["run"] for step in steps if "run" in step]
    return list(data["leakcert"]["script"])


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_the_ci_files_commands_certify(wheel: Path, tmp_path: Path, name: str) -> None:
    repo = tmp_path / "vendor-repo"
    repo.mkdir()
    subject(repo / "leakcert-subject", "reference", "vendor")
    bin_dir = shims(tmp_path / "bin")
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "LEAKCERT": str(wheel),
        "SUBJECT": "./leakcert-subject",
        "LEAKCERT_OPTIONS": f"--case {CASE}",
    }
    for command in ci_commands(name):
        done = run(["/bin/sh", "-ec", command], repo, **env)
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
    installs = [x.split() for x in (bin_dir / "apt-get.log").read_text().splitlines()]
    installed = {p for x in installs if x[0] == "install" for p in x if not p.startswith("-")}
    assert set(TOOLS.values()) <= installed, "leakcert doctor would miss these"
    cert = json.loads((repo / "leakcert-results" / "certificate.json").read_text())
    assert cert["verdict"] == "PASS"


def test_the_tox_snippet_certifies(wheel: Path, tmp_path: Path) -> None:
    if shutil.which("tox") is None:
        pytest.skip("tox is not installed (bin/install-deps installs it)")
    repo = tmp_path / "vendor-repo"
    repo.mkdir()
    subject(repo / "leakcert-subject", "reference", "vendor")
    shutil.copy(CI / "tox.ini", repo / "tox.ini")
    done = run(["tox", "-e", "leakcert", "--", "--case", CASE], repo, LEAKCERT=str(wheel))
    assert done.returncode == 0, done.stdout + done.stderr
    cert = json.loads((repo / "leakcert-results" / "certificate.json").read_text())
    assert cert["verdict"] == "PASS"
