"""A daemon's log is waited on through the kernel's word that it was written, or
that its process ended: never by a poll's guess."""

from __future__ import annotations

import select
import subprocess
from pathlib import Path

import pytest

from netns.errors import LabError
from netns.procs import Cgroup, Daemon, WriteWake, cgroup2_root

pytestmark = pytest.mark.root


@pytest.fixture
def cgroup(tmp_path: Path):
    group = Cgroup(cgroup2_root() / "leakcert" / f"test-{tmp_path.name}").create()
    yield group
    group.remove()


def readable(wake: WriteWake, timeout: float) -> bool:
    return bool(select.select([wake], [], [], timeout)[0])


def test_the_wake_says_when_the_log_is_written(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_text("")
    with subprocess.Popen(["sleep", "30"]) as process:
        with WriteWake(log, process.pid) as wake:
            assert not readable(wake, 0)
            with log.open("a") as out:
                out.write("serving\n")
            assert readable(wake, 10)
            wake.drain()
            assert not readable(wake, 0)
        process.kill()


def test_the_wake_says_when_the_process_ends(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_text("")
    with subprocess.Popen(["sleep", "30"]) as process, WriteWake(log, process.pid) as wake:
        assert not readable(wake, 0)
        process.kill()
        assert readable(wake, 10)


def test_a_wake_leaves_no_news_for_the_next_one(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_text("")
    with subprocess.Popen(["sleep", "30"]) as process:
        with WriteWake(log, process.pid):
            log.write_text("old news\n")
        with WriteWake(log, process.pid) as wake:
            assert not readable(wake, 0)
        process.kill()


def test_a_daemon_that_dies_without_a_word_fails_the_wait(tmp_path: Path, cgroup) -> None:
    argv = ["sh", "-c", "exec 1>&- 2>&-; sleep 0.2; exit 3"]
    daemon = Daemon("mute", argv, cgroup, tmp_path / "mute.log")
    with pytest.raises(LabError, match=r"mute exited \(3\)"):
        daemon.wait_for_log("never said", timeout=60)
    daemon.wait()


def test_a_line_written_later_is_found(tmp_path: Path, cgroup) -> None:
    argv = ["sh", "-c", "sleep 0.3; echo serving; exec sleep 30"]
    daemon = Daemon("late", argv, cgroup, tmp_path / "late.log")
    try:
        assert daemon.wait_for_log("serv(ing)", timeout=10).group(1) == "ing"
    finally:
        daemon.stop()
