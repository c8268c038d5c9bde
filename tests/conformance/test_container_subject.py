"""A container subject runs on a Docker engine the lab starts, earns the verdicts its
kill switch earns, and leaves nothing behind: no container, no network, no daemon,
and no image layer beyond the cache of its images.

The cases run in a worker process, as a test runner's worker does: the engine
lives as long as the processes that use it, and the last one to leave stops it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.judge import Verdict
from netns import docker_engine, registry
from netns.procs import become_subreaper, reap_orphans
from netns.wait import until
from tests.netns.support import leftovers

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parents[2]
SUBJECT = "wg-quick-killswitch-container"
# Its base, so that the hostile subjects below need no image of their own.
PACKAGES = '["wireguard-go", "wireguard-tools", "iproute2", "iptables", "procps"]'
# The man page's REJECT rule outlives wireguard-go, in a container as on a desktop;
# and it is iptables only: IPv6 announced on the LAN goes around it.
# The applications' own programs (bound to the uplink) and another firewall manager's
# xtables lock (in the VPN container) work there as on the machine.
ROWS = {
    "crash.everything": Verdict.PASS,
    "ipv6.announced": Verdict.LEAK,
    "bound.uplink": Verdict.PASS,
    "firewall.update-fails": Verdict.PASS,
}
# The OpenVPN guide's IPv6 switch-off is docker run --sysctl in its container: without
# it, IPv6 on the LAN would leak around its iptables-only rules.
OPENVPN = ("openvpn-killswitch-container", "ipv6.from-start", Verdict.PASS)

WORKER = """
import json, sys
from pathlib import Path
from conformance.cases import BY_ID
from conformance.runner import run_case
records = []
for case in sys.argv[3:]:
    record = run_case(sys.argv[1], BY_ID[case], Path(sys.argv[2]) / case)
    hooks = " ".join(h["output"] for h in record.evidence.get("hooks", []))
    records.append({"case": case, "verdict": record.verdict.value, "reason": record.reason,
                    "hooks": hooks})
print(json.dumps(records))
"""


def run_worker(subject: str, workdir: Path, cases: list[str]) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-c", WORKER, subject, str(workdir), *cases],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=1800,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def engine_state() -> dict[str, object]:
    """What of the lab's engine is on the machine: its record, processes, mounts, and
    the entries of its data root that containers and image layers add."""
    data = docker_engine.DATA_ROOT

    def entries(sub: str) -> set[str]:
        folder = data / sub
        return set(os.listdir(folder)) if folder.is_dir() else set()

    processes = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if str(docker_engine.HOME).encode() in cmdline or str(data).encode() in cmdline:
            processes.append(cmdline.replace(b"\0", b" ").decode(errors="replace")[:80])
    mounts = [
        line
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if str(docker_engine.HOME) in line or str(data) in line
    ]
    return {
        "record": docker_engine.RECORD.exists(),
        "containers records": set(os.listdir(docker_engine.LABS))
        if docker_engine.LABS.is_dir()
        else set(),
        "socket": docker_engine.SOCKET.exists(),
        "exec root": (docker_engine.HOME / "exec").exists(),
        "processes": processes,
        "mounts": mounts,
        "containers": entries("containers"),
        "layers": entries("overlay2"),
        "images": entries("image/overlay2/imagedb/content/sha256"),
        "networks": entries("network/files"),
    }


@pytest.fixture
def warm_cache() -> Iterator[dict[str, object]]:
    """Build (or find) the subject's images, in a process that then exits; the state after.

    Held for the whole test: these tests watch the engine start and stop, so no two of
    them (in two xdist workers) use it at once.
    """
    docker_engine.HOME.mkdir(parents=True, exist_ok=True)
    with open(docker_engine.HOME / "tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield _warm()


def _warm() -> dict[str, object]:
    build = (
        "from conformance import container_subject, subject\n"
        f"for name in {[SUBJECT, OPENVPN[0]]!r}:\n"
        "    s = subject.load(name)\n"
        "    digest = subject.subject_digest(s)\n"
        "    container_subject.build(s.name, s.folder, s.container, digest, s.include)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", build], capture_output=True, text=True, cwd=REPO, timeout=1800
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return engine_state()


def test_a_container_subject_is_certified_and_leaves_nothing(
    warm_cache: dict[str, object], tmp_path: Path
) -> None:
    assert not warm_cache["record"] and not warm_cache["processes"], warm_cache
    records = run_worker(SUBJECT, tmp_path, list(ROWS))
    for record in records:
        assert Verdict(record["verdict"]) is ROWS[record["case"]], record
        lab_id = re.search(r"wgc([0-9a-f]{6})", record["hooks"]).group(1)
        assert leftovers(lab_id) == [], record["case"]
    [record] = run_worker(OPENVPN[0], tmp_path / "openvpn", [OPENVPN[1]])
    assert Verdict(record["verdict"]) is OPENVPN[2], record
    after = engine_state()
    # The engine stopped when its one user left; no container, network or mount of it
    # is left, and its data root holds the image cache and nothing more.
    assert after == warm_cache


def hostile(folder: Path, dockerfile: str, hooks: str) -> str:
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text(dockerfile)
    (folder / "subject.toml").write_text(
        f'name = "{folder.name}"\nsummary = "a container subject that goes wrong"\n'
        f'vpn = "wireguard"\n\n[container]\npackages = {PACKAGES}\n\n[hooks]\n{hooks}\n'
    )
    return str(folder)


def test_a_dockerfile_that_fails_and_a_container_that_exits_are_errors_of_one_line(
    warm_cache: dict[str, object], tmp_path: Path
) -> None:
    broken = hostile(
        tmp_path / "broken-dockerfile",
        "ARG BASE\nFROM $BASE\nRUN echo the build breaks here && false\n",
        'connect = "true"',
    )
    exits = hostile(
        tmp_path / "exits",
        "ARG BASE\nFROM $BASE\n",
        # docker-init, the container's first process, ends it on SIGTERM.
        'boot = "kill 1"\nconnect = "true"',
    )
    [failed] = run_worker(broken, tmp_path / "a", ["connected.baseline"])
    [ended] = run_worker(exits, tmp_path / "b", ["connected.baseline"])
    assert failed["verdict"] == "ERROR", failed
    assert failed["reason"].startswith("the subject's Dockerfile failed to build"), failed
    assert ended["verdict"] == "ERROR", ended
    assert "the VPN container ended" in ended["reason"], ended
    for record in (failed, ended):
        assert "\n" not in record["reason"] and "leakcert fault" not in record["reason"]
    assert not engine_state()["processes"]
    assert engine_state()["containers"] == warm_cache["containers"]


def test_a_runner_killed_while_its_container_runs_leaves_nothing_after_a_sweep(
    warm_cache: dict[str, object], tmp_path: Path
) -> None:
    # The killed runner's orphans (dockerd) come to us, and are reaped here as an init would.
    become_subreaper()
    ref = hostile(
        tmp_path / "sleeper",
        "ARG BASE\nFROM $BASE\n",
        'connect = "echo $KS_TUNNEL_IF > $KS_STATE_DIR/up && sleep 600"',
    )
    workdir = tmp_path / "work"
    runner = subprocess.Popen(
        [sys.executable, "-c", WORKER, ref, str(workdir), "connected.baseline"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )
    try:
        up = workdir / "connected.baseline" / "lab" / "client-state" / "up"
        until("the container's connect hook", lambda: up.exists() and up.read_text(), 600)
        lab_id = up.read_text().strip()[len("wgc") :]
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        assert engine_state()["processes"], "a SIGKILL leaves the engine behind until a sweep"
        # What the next lab does first (here, or in another xdist worker's lab just before):
        # its dead owners' labs, their containers, then an engine no one uses.
        registry.sweep_dead()
        docker_engine.sweep_dead()
        reap_orphans()
        assert leftovers(lab_id) == []
        assert engine_state() == warm_cache
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
