"""The client's sandbox: one per boot, shared by the hooks of that boot, owned
by the lab's cgroups; an /etc of the client's own, a /run and /tmp per boot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netns.lab import Lab
from netns.wait import until

pytestmark = pytest.mark.root


def hook(lab: Lab, command: str, name: str = "connect", timeout: float = 10.0) -> tuple:
    """Run `command` as the hook `name` would run: (exit status or None, output)."""
    output = lab.workdir / f"{name}.out"
    code = lab.client_sandbox().run(
        command,
        cwd=Path("/"),
        env={"PATH": os.environ["PATH"]},
        cgroup=lab.subject_cgroup.child(name),
        output=output,
        timeout=timeout,
    )
    return code, output.read_text()


def cmdlines(pids: list[int]) -> list[str]:
    return [Path(f"/proc/{pid}/cmdline").read_bytes().decode().strip("\0") for pid in pids]


def test_what_a_hook_leaves_running_is_the_next_hooks_and_the_labs(lab: Lab) -> None:
    # The child keeps the hook's output open: the hook still returns at once.
    code, out = hook(lab, "sleep 600 & echo $!")
    assert code == 0
    pid = int(out)
    # The lab sees it by its host pid, in the cgroup of the hook that started it
    # (the forked shell may not have exec'd sleep yet when the hook returns).
    connect = lab.subject_cgroup.child("connect")
    until("the child to be sleep", lambda: cmdlines(connect.pids()) == ["sleep\x00600"])
    code, out = hook(lab, f"cat /proc/{pid}/cmdline && kill {pid}", name="disconnect")
    assert (code, out) == (0, "sleep\x00600\x00")
    until("the sleep to be gone", lambda: not lab.subject_cgroup.pids())


def test_a_crash_kills_the_subject_not_its_sandbox(lab: Lab) -> None:
    hook(lab, "sleep 600 &")
    lab.kill_subject()
    assert lab.subject_cgroup.pids() == []
    # The sandbox's keeper (PID 2, after its init) is left: the next hook runs.
    code, out = hook(lab, "pgrep -a sleep", name="disconnect")
    assert (code, out) == (0, "2 sleep infinity\n")


def test_the_clients_resolver_is_the_one_its_hooks_write(lab: Lab) -> None:
    hook(lab, "echo nameserver 198.51.100.53 > /etc/resolv.conf")
    assert lab.client.run("cat /etc/resolv.conf").stdout == "nameserver 198.51.100.53\n"


def test_etc_is_the_clients_and_outlives_a_reboot_processes_run_and_tmp_do_not(
    lab: Lab,
) -> None:
    marker = f"leakcert-test-{lab.lab_id}"
    code, _ = hook(lab, f"echo kept > /etc/{marker} && touch /run/x /tmp/x && sleep 600 &")
    assert code == 0
    assert not Path("/etc", marker).exists(), "the machine's /etc was written"
    lab.client_reboot()
    assert lab.subject_cgroup.pids() == []
    code, out = hook(
        lab, f"cat /etc/{marker}; ls /run; ls /tmp/x; pgrep -c -f '^sleep 600'", "boot"
    )
    assert out.splitlines() == [
        "kept",
        "lock",
        "ls: cannot access '/tmp/x': No such file or directory",
        "0",
    ]


def test_a_hook_past_its_timeout_is_killed_with_what_it_started(lab: Lab) -> None:
    code, out = hook(lab, "echo started; sleep 600 & sleep 600", timeout=1.0)
    assert (code, out) == (None, "started\n")
    assert lab.subject_cgroup.pids() == []
