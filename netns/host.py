"""A host of the lab: one network namespace, its processes and its netlink."""

from __future__ import annotations

import shlex
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pyroute2 import IPRoute
from pyroute2.netlink import NETLINK_ROUTE

from netns import facts
from netns.errors import LabError
from netns.facts import Interface
from netns.namespaces import socket_in, write_sysctls
from netns.procs import Cgroup, Daemon, reap_orphans


@dataclass
class CommandResult:
    """What a command run on a host did."""

    command: str
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass(frozen=True)
class Step:
    """One thing the lab made a host do: a command and its exit status (None: still
    running, as a daemon, or stopped at its timeout)."""

    t: float  # epoch seconds, when it started
    host: str
    command: str
    exit: int | None


class Host:
    """One namespace of the lab (`client`, `router`, `vpn` or `net`).

    Commands run through `ip netns exec`, so a host sees its own
    `/etc/netns/<namespace>/` files (its own resolv.conf) in place of /etc.
    """

    def __init__(
        self,
        role: str,
        namespace: str,
        cgroup: Cgroup,
        logdir: Path,
        transcript: list[Step] | None = None,
    ) -> None:
        self.role = role
        self.namespace = namespace
        self.cgroup = cgroup
        self.logdir = logdir
        # What this host was made to do, in order, shared with the lab's other hosts.
        self.transcript = transcript if transcript is not None else []
        self._iproute: IPRoute | None = None

    def __repr__(self) -> str:
        return f"Host({self.role}={self.namespace})"

    def argv(self, argv: list[str]) -> list[str]:
        """The command line that runs `argv` inside this host."""
        return ["ip", "netns", "exec", self.namespace, *argv]

    def run(
        self,
        command: str,
        *args: object,
        check: bool = True,
        timeout: float = 30.0,
        env: dict[str, str] | None = None,
        input: str | None = None,
        cgroup: Cgroup | None = None,
    ) -> CommandResult:
        """Run `command` (with %s placeholders for `args`, quoted for you) and wait.

        The command runs in `cgroup` (default: this host's) so that nothing it
        leaves behind escapes the lab.
        """
        line = command % tuple(shlex.quote(str(a)) for a in args) if args else command
        started = time.time()
        script = 'echo 0 > "$0" && exec ip netns exec "$1" /bin/sh -c "$2"'
        try:
            proc = subprocess.run(
                [
                    "/bin/sh",
                    "-c",
                    script,
                    str((cgroup or self.cgroup).procs_file),
                    self.namespace,
                    line,
                ],
                capture_output=True,
                text=True,
                # A program may print anything: bad bytes are replaced, never fatal.
                errors="replace",
                timeout=timeout,
                env=env,
                input=input,
            )
        except subprocess.TimeoutExpired:
            self.transcript.append(Step(started, self.role, line, None))
            raise LabError(f"{self.role}: `{line}` ran past {timeout:g}s") from None
        finally:
            reap_orphans()
        self.transcript.append(Step(started, self.role, line, proc.returncode))
        result = CommandResult(line, proc.returncode, proc.stdout, proc.stderr)
        if check and not result.ok:
            reason = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()
            raise LabError(f"{self.role}: `{line}` failed ({result.rc}): {reason[-1]}")
        return result

    def spawn(self, name: str, argv: list[str], cgroup: Cgroup | None = None) -> Daemon:
        """Start a long-running program on this host; its log is `<logdir>/<name>.log`."""
        self.transcript.append(Step(time.time(), self.role, shlex.join(argv), None))
        return Daemon(
            f"{self.role}/{name}",
            self.argv(argv),
            cgroup or self.cgroup,
            self.logdir / f"{self.role}-{name}.log",
        )

    def sysctl(self, settings: Mapping[str, object]) -> None:
        """Set sysctls (`{"net.ipv4.ip_forward": 1}`) in this namespace."""
        started = time.time()
        write_sysctls(self.namespace, settings)
        pairs = " ".join(shlex.quote(f"{key}={value}") for key, value in settings.items())
        # No program runs: the step says what was written, and where.
        self.transcript.append(Step(started, self.role, f"write /proc/sys/net: {pairs}", 0))

    def interface(self, name: str) -> Interface:
        """One of this host's interfaces, as its kernel sees it (`netns.facts`)."""
        return Interface(self, name)

    def routes(self, family: int = 2, table: int = 254) -> list[tuple[str, str | None]]:
        """(destination/prefix, gateway) of this host's routes in `table` (main)."""
        return facts.routes(self, family, table)

    @contextmanager
    def iproute(self) -> Iterator[IPRoute]:
        """This namespace's netlink socket, for a with block.

        Opened once and kept until `close()`: a lab's build uses dozens.
        """
        if self._iproute is None:
            sock = socket_in(self.namespace, socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE)
            self._iproute = IPRoute(fileno=sock.detach())
        yield self._iproute

    def close(self) -> None:
        """Close the host's netlink socket (its namespace is going)."""
        if self._iproute is not None:
            self._iproute.close()
            self._iproute = None
