"""A hostile subject cannot touch the lab: every way out of the client fails,
its verdict is the one its kill switch earns, and nothing of it outlives the
case, not even when the runner is killed with SIGKILL while it runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cases import BY_ID
from conformance.judge import Verdict
from conformance.runner import run_case
from netns import registry
from netns.procs import become_subreaper, reap_orphans
from netns.wait import until
from tests.netns.support import leftovers

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parents[2]
# `none` leaks here (a host on the LAN answers outside the tunnel).
CASE = BY_ID["connected.nothing-else"]

# Each escape prints "ESCAPED: <what>" or "blocked: <what>". What it touches is
# named after the lab ("hostile<lab id>"), so that the machine can be searched.
HOSTILE = r"""#!/bin/sh
lab=${KS_TUNNEL_IF#wgc}
mark="hostile$lab"
echo "lab $lab"
own=$(readlink /proc/self/ns/net)

attempt() {  # attempt WHAT COMMAND...
    what=$1
    shift
    if "$@" >/dev/null 2>&1; then echo "ESCAPED: $what"; else echo "blocked: $what"; fi
}
there() {  # there WHAT PATH COMMAND...: only what is in view can be tried
    what=$1 path=$2
    shift 2
    if [ -e "$path" ]; then attempt "$what" "$@"; else echo "blocked: $what (not in view)"; fi
}
enter() {  # enter WHAT NETNS: a table in a network namespace that is not the client's
    if [ "$(readlink "$2" 2>/dev/null)" = "$own" ] || [ ! -e "$2" ]; then
        echo "blocked: $1 (not in view)"
    else
        attempt "$1" nsenter --net="$2" nft add table inet "$mark"
    fi
}

enter "the netns of pid 1" /proc/1/ns/net
other=/proc/none/ns/net
for ns in /proc/[0-9]*/ns/net; do
    if [ "$(readlink "$ns" 2>/dev/null)" != "$own" ]; then other=$ns; break; fi
done
enter "the netns of another process" "$other"
attempt "the router's namespace" ip netns exec "lc$lab-router" nft add table inet "$mark"

case_dir=$(dirname "$(dirname "$KS_STATE_DIR")")
there "the capture" "$case_dir/wire.pcap" sh -c 'printf x >> "$0"' "$case_dir/wire.pcap"
there "the lab's workdir" "$case_dir/lab/logs" touch "$case_dir/lab/logs/$mark"
there "the registry" /run/leakcert/labs touch "/run/leakcert/labs/$mark"

tcpdump=none
for cmdline in /proc/[0-9]*/cmdline; do
    if tr '\0' ' ' < "$cmdline" 2>/dev/null | grep -q "^tcpdump .*$case_dir/wire.pcap"; then
        tcpdump=${cmdline%/cmdline}
        tcpdump=${tcpdump#/proc/}
    fi
done
there "the capture's process" "/proc/$tcpdump" kill -STOP "$tcpdump"

# A process that would outlive the lab, out of the lab's cgroup.
sh -c 'sleep 600; :' "linger-$mark" >/dev/null 2>&1 &
linger=$!
moved="blocked: the lab's cgroup"
for procs in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/unified/cgroup.procs; do
    if echo "$linger" 2>/dev/null > "$procs"; then moved="ESCAPED: the lab's cgroup"; fi
done
mkdir -p "$KS_RUN_DIR/cgroup"
if mount -t cgroup2 none "$KS_RUN_DIR/cgroup" 2>/dev/null \
    && echo "$linger" > "$KS_RUN_DIR/cgroup/cgroup.procs"; then
    moved="ESCAPED: the lab's cgroup"
fi
echo "$moved"

# The machine's kernel settings: its own value written back (harmless if it works).
attempt "the machine's kernel settings" \
    sh -c 'v=$(cat /proc/sys/kernel/core_pattern) && echo "$v" > /proc/sys/kernel/core_pattern'
mkdir -p "$KS_RUN_DIR/dev"
attempt "a mount" mount -t devtmpfs none "$KS_RUN_DIR/dev"
attempt "a device node" mknod "$KS_RUN_DIR/disk" b 254 0

# Then a VPN with no kill switch, as `none`.
echo "nameserver $KS_VPN_DNS" > /etc/resolv.conf
WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up "$KS_TUNNEL_CONFIG"
"""
ESCAPES = (
    "the netns of pid 1",
    "the netns of another process",
    "the router's namespace",
    "the capture",
    "the lab's workdir",
    "the registry",
    "the capture's process",
    "the lab's cgroup",
    "the machine's kernel settings",
    "a mount",
    "a device node",
)


def hostile(folder: Path, connect: str = "./hostile.sh") -> str:
    folder.mkdir(parents=True)
    (folder / "hostile.sh").write_text(HOSTILE)
    (folder / "hostile.sh").chmod(0o755)
    (folder / "subject.toml").write_text(
        'name = "hostile"\nsummary = "tries every way out of the client"\n'
        f"[hooks]\nconnect = '{connect}'\n"
        """disconnect = 'wg-quick down "$KS_TUNNEL_CONFIG"'\n"""
    )
    return str(folder)


def undo_escapes(lab_id: str) -> None:
    """What an escape left on the machine, removed (the test fails on it first)."""
    mark = f"hostile{lab_id}"
    subprocess.run(["nft", "delete", "table", "inet", mark], capture_output=True)
    (registry.REGISTRY / mark).unlink(missing_ok=True)
    for found in leftovers(lab_id):
        if found.startswith("process "):
            os.kill(int(found.split()[1].rstrip(":")), signal.SIGKILL)


def test_a_hostile_subject_cannot_touch_the_lab(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    result = run_case(hostile(tmp_path / "hostile"), CASE, workdir)
    output = result.evidence["hooks"][0]["output"]
    lab_id = output.split()[1]
    try:
        lines = output.splitlines()
        assert not [line for line in lines if line.startswith("ESCAPED")], output
        for escape in ESCAPES:
            assert any(line.startswith(f"blocked: {escape}") for line in lines), escape
        # The kill switch (none) leaks, and the capture that shows it is whole.
        assert result.verdict is Verdict.LEAK, result.reason
        assert not (workdir / "lab" / "logs" / f"hostile{lab_id}").exists()
        assert leftovers(lab_id, workdir) == []
    finally:
        undo_escapes(lab_id)


WORKER = """
import sys
from pathlib import Path
from conformance.cases import BY_ID
from conformance.runner import run_case
run_case(sys.argv[1], BY_ID[sys.argv[2]], Path(sys.argv[3]))
"""


def test_a_runner_killed_while_a_hostile_subject_runs_leaves_nothing(tmp_path: Path) -> None:
    # The killed runner's orphans come to us, and are reaped here as an init would.
    become_subreaper()
    workdir = tmp_path / "work"
    ref = hostile(tmp_path / "hostile", './hostile.sh && touch "$KS_STATE_DIR/up" && sleep 600')
    runner = subprocess.Popen([sys.executable, "-c", WORKER, ref, CASE.id, str(workdir)], cwd=REPO)
    lab_id = ""
    try:
        until("the hostile connect hook", (workdir / "lab" / "client-state" / "up").exists, 60)
        lab_id = next(r.lab_id for r in registry.records() if r.owner_pid == runner.pid)
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        assert leftovers(lab_id, workdir), "a SIGKILL leaves the lab behind until a sweep"
        assert lab_id in registry.sweep_dead()
        reap_orphans()
        assert leftovers(lab_id, workdir) == []
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        if lab_id:
            undo_escapes(lab_id)
