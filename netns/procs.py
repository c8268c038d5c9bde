"""Processes of the lab: cgroups that own them, reaping, daemons with logs.

Every process the lab starts is placed in a cgroup of the lab before it runs,
so that a host's processes can be killed or frozen as one (crash, reboot,
sleep/wake) and nothing escapes cleanup, not even what a subject's hook left
running in the background. The owner of a lab becomes a child subreaper so
that daemonised grandchildren are reparented to it and reaped here: PID 1 on
some machines never reaps them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import select
import signal
import subprocess
import threading
import time
from pathlib import Path

from inotify_simple import INotify, flags

from netns.errors import LabError
from netns.wait import until

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Make this process the reaper of every orphan it leaves behind."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise LabError(f"prctl(PR_SET_CHILD_SUBREAPER) failed: {os.strerror(ctypes.get_errno())}")


def children_of(pid: int) -> list[int]:
    """The pids of `pid`'s children (all its threads')."""
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return kids


def reap_orphans() -> list[int]:
    """Reap every dead child: adopted orphans, and daemons killed with their cgroup.

    A daemon we started is reaped through its own Popen (so that Popen knows);
    only processes reparented to us are reaped by pid here.
    """
    for popen in list(_LIVE_POPENS):
        if popen.poll() is not None:
            _LIVE_POPENS.discard(popen)
    owned = {p.pid for p in list(_LIVE_POPENS)}
    reaped = []
    for pid in children_of(os.getpid()):
        if pid in owned:
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] != "Z":
            continue
        try:
            os.waitpid(pid, os.WNOHANG)
            reaped.append(pid)
        except ChildProcessError:
            pass
    return reaped


def cgroup2_root() -> Path:
    """Where the cgroup v2 hierarchy is mounted (pure v2 or the hybrid 'unified')."""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if fields[2] == "cgroup2":
            return Path(fields[1])
    raise LabError("no cgroup2 hierarchy is mounted (needed to own the lab's processes)")


class Cgroup:
    """A cgroup v2 folder that owns a set of processes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def create(self) -> Cgroup:
        self.path.mkdir(parents=True, exist_ok=True)
        return self

    def child(self, name: str) -> Cgroup:
        return Cgroup(self.path / name).create()

    @property
    def procs_file(self) -> Path:
        return self.path / "cgroup.procs"

    def pids(self) -> list[int]:
        """Live processes in this cgroup and below (zombies are not listed by the kernel)."""
        if not self.path.exists():
            return []
        pids = []
        for procs in self.path.rglob("cgroup.procs"):
            pids += [int(p) for p in procs.read_text().split()]
        return pids

    def _events(self) -> dict[str, str]:
        text = (self.path / "cgroup.events").read_text()
        return dict(line.split() for line in text.splitlines())

    def _wait_events(self, key: str, value: str, timeout: float) -> None:
        # cgroup.events signals every change with POLLPRI: wait on it, not on a timer.
        deadline = time.monotonic() + timeout
        with open(self.path / "cgroup.events", "rb", buffering=0) as events:
            poller = select.poll()
            poller.register(events, select.POLLPRI | select.POLLERR)
            while True:
                events.seek(0)
                state = dict(line.split() for line in events.read().decode().splitlines())
                if state.get(key) == value:
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LabError(f"cgroup {self.path.name}: {key} did not become {value}")
                poller.poll(left * 1000)

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL every process in this cgroup and its children, and wait until none is left."""
        if not self.path.exists():
            return
        (self.path / "cgroup.kill").write_text("1")
        self._wait_events("populated", "0", timeout)
        reap_orphans()

    def terminate(self, grace: float = 5.0) -> bool:
        """SIGTERM every process here and below, as systemd stops a service; True if all
        exited within `grace` seconds, else the rest are killed (SIGKILL) and False.

        The processes are frozen while signalled, so that all of them get it in
        the same instant (none reacts to another's exit first), whatever the load.
        """
        if not self.path.exists():
            return True
        self.freeze()
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        self.thaw()
        try:
            self._wait_events("populated", "0", grace)
        except LabError:
            self.kill()
            return False
        reap_orphans()
        return True

    def freeze(self, timeout: float = 10.0) -> None:
        (self.path / "cgroup.freeze").write_text("1")
        self._wait_events("frozen", "1", timeout)

    def thaw(self, timeout: float = 10.0) -> None:
        (self.path / "cgroup.freeze").write_text("0")
        self._wait_events("frozen", "0", timeout)

    def remove(self) -> None:
        """Kill what is left and remove the folders, deepest first."""
        if not self.path.exists():
            return
        self.kill()
        for sub in sorted(self.path.rglob("*/"), key=lambda p: len(p.parts), reverse=True):
            if sub.is_dir():
                sub.rmdir()
        self.path.rmdir()


# One inotify instance per thread, never closed: closing one that has had a
# watch waits for the kernel's grace period (8 to 24 ms here), removing a watch
# does not. Per thread, so that one waiter never reads another's events.
_THREAD_INOTIFY = threading.local()


class WriteWake:
    """Readable when a process writes to a file (its log, a capture) or exits: a
    `wait.until` wake.

    inotify says when the file is written; a pidfd says when the process has
    ended without writing (a crash that prints nothing).
    """

    def __init__(self, path: Path, pid: int) -> None:
        if not hasattr(_THREAD_INOTIFY, "instance"):
            _THREAD_INOTIFY.instance = INotify()
        self._inotify: INotify = _THREAD_INOTIFY.instance
        self._epoll = select.epoll()
        self._watch: int | None = None
        self._pidfd: int | None = None
        try:
            self._watch = self._inotify.add_watch(path, flags.MODIFY | flags.CLOSE_WRITE)
            self._epoll.register(self._inotify.fileno(), select.EPOLLIN)
            self._pidfd = os.pidfd_open(pid)
            self._epoll.register(self._pidfd, select.EPOLLIN)
        except ProcessLookupError:
            pass  # already reaped: the state's own check sees that it exited
        except BaseException:
            self.close()
            raise

    def fileno(self) -> int:
        return self._epoll.fileno()

    def drain(self) -> None:
        self._inotify.read(timeout=0)

    def close(self) -> None:
        self._epoll.close()
        if self._pidfd is not None:
            os.close(self._pidfd)
        if self._watch is not None:
            # A removed file took its watch with it.
            with contextlib.suppress(OSError):
                self._inotify.rm_watch(self._watch)
            # What the file said meanwhile, and the watch's end: not the next waiter's news.
            self._inotify.read(timeout=0)

    def __enter__(self) -> WriteWake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_LIVE_POPENS: set[subprocess.Popen] = set()


class Daemon:
    """A long-running process of a host, with its output in a log file.

    The process is moved into its cgroup by a tiny shell before it execs the
    real program, so even its first fork is owned by the lab.
    """

    def __init__(self, name: str, argv: list[str], cgroup: Cgroup, log: Path) -> None:
        self.name = name
        self.argv = argv
        self.log = log
        # Log lines, in order, that say the daemon serves: see `ready`.
        self.ready_when: tuple[str, ...] = ()
        self._log_file = open(log, "ab")  # noqa: SIM115 - kept open for the daemon's life
        # A restarted daemon appends to its old log: only what it writes now counts.
        self.log_start = log.stat().st_size
        # The shell says on its stdin (a pipe's write end) when it has joined the
        # cgroup; until then a cgroup.kill would miss it, so the constructor waits
        # for that word. The daemon itself gets /dev/null as its stdin.
        joined_read, joined_write = os.pipe()
        try:
            self.popen = subprocess.Popen(
                [
                    "/bin/sh",
                    "-c",
                    'echo 0 > "$0" && echo >&0 && exec "$@" </dev/null',
                    str(cgroup.procs_file),
                    *argv,
                ],
                stdin=joined_write,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            self._log_file.close()
            raise LabError(f"{name}: cannot start {argv[0]}: {exc.strerror}") from None
        finally:
            os.close(joined_write)
        _LIVE_POPENS.add(self.popen)
        with os.fdopen(joined_read, "rb") as joined:
            if not joined.read(1):
                raise LabError(f"{name}: could not join the lab's cgroup {cgroup.path.name}")

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        """What this run of the daemon wrote to its log."""
        return self.log.read_bytes()[self.log_start :].decode(errors="replace")

    def wait_for_log(
        self, pattern: str, timeout: float = 10.0, start: int | None = None
    ) -> re.Match:
        """Wait until the daemon's log (from byte `start`, default its own start) matches.

        Fails at once, with the daemon's last line, if it exits first.
        """
        regex = re.compile(pattern)
        start = self.log_start if start is None else start

        def matched() -> re.Match | None:
            text = self.log.read_bytes()[start:].decode(errors="replace")
            found = regex.search(text)
            if found is None and self.popen.poll() is not None:
                raise LabError(f"{self.name} exited ({self.popen.returncode}): {_last_line(text)}")
            return found

        with WriteWake(self.log, self.popen.pid) as wake:
            return until(f"{pattern!r} in the log of {self.name}", matched, timeout, wake=wake)

    def ready(self, timeout: float = 10.0) -> Daemon:
        """Wait for each of `ready_when` in its log. Started daemons get ready side by side:
        start them all, then call this on each."""
        for pattern in self.ready_when:
            self.wait_for_log(pattern, timeout)
        return self

    def signal(self, sig: int) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)

    def stop(self, timeout: float = 5.0) -> int:
        """SIGTERM, then SIGKILL if it lingers; always reaped."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._forget()
        return self.popen.returncode

    def wait(self, timeout: float | None = None) -> int:
        code = self.popen.wait(timeout)
        self._forget()
        return code

    def _forget(self) -> None:
        _LIVE_POPENS.discard(self.popen)
        if not self._log_file.closed:
            self._log_file.close()


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"
