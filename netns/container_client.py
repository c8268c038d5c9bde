"""The client as containers: a VPN container and an application container behind it.

People run a VPN client in a container and chain their applications'
containers behind it (`--network container:vpn`). The lab builds the same
thing on a real Docker engine (`netns.docker_engine`), with the client's
network namespace held by a third, idle container, so that the namespace
outlives a reboot of the client:

    holder   network none, `sleep infinity`; its namespace is attached as the
             lab's client namespace (`ip netns attach`), wired like any other
             client's (uplink, DHCP, capture on the router's side)
    vpn      the subject's image, in the holder's namespace
             (network_mode container:holder), NET_ADMIN and /dev/net/tun;
             the subject's hooks run in it (docker exec)
    app      the application's image, in the VPN container's namespace
             (network_mode container:vpn): the probes run in it

Both the VPN and the application container see the client's resolv.conf
(the lab's file for the client, bind-mounted on /etc/resolv.conf), the
tunnel's config read-only, and KS_STATE_DIR and KS_RUN_DIR at their own paths.
One boot of the client is one run of the VPN and application containers: a
reboot kills them, the next hook starts them again in the same namespace.
The image's own entrypoint does not run: the container idles under
docker-init until the hooks act.

A hook is a docker exec of a shell that waits on a pipe until the lab has
moved it into the hook's cgroup (`subject/<hook>`), so that the lab's crash,
freeze and kill reach exactly what the hook left running, as they do for a
subject in the sandbox; its output goes to a log in a folder shown to the
container for that only.
"""

from __future__ import annotations

import os
import select
import shlex
import stat
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from netns.docker_engine import docker_module
from netns.errors import LabError
from netns.procs import Cgroup
from netns.wait import until

HOOK_DIR = "/run/leakcert-hook"
APP_DIR = "/opt/leakcert"
IDLE = ["sleep", "infinity"]
# The exec'd shell waits for the lab's word (after it is in the hook's cgroup), then
# becomes the hook: the exec's own process is the hook's.
_HOOK = 'read _ < "$0" && exec /bin/sh -c "$2" > "$1" 2>&1 < /dev/null'


@dataclass(frozen=True)
class ContainerSpec:
    """What a container client is made of: built images, and the Docker options it asks for."""

    image: str  # the subject's (VPN container's)
    app_image: str  # the application container's
    sysctls: dict[str, str] = field(default_factory=dict)  # docker run --sysctl
    app_mounts: dict[str, str] = field(default_factory=dict)  # read-only: machine path -> its own


class ContainerClient:
    """The holder, VPN and application containers of one lab's client."""

    def __init__(
        self,
        engine,
        prefix: str,
        spec: ContainerSpec,
        resolv_conf: Path,
        hook_dir: Path,
        *,
        writable: Sequence[Path] = (),
        readonly: Sequence[Path] = (),
    ) -> None:
        self.engine = engine
        self.spec = spec
        self.names = {role: f"{prefix}-{role}" for role in ("holder", "vpn", "app")}
        self.resolv_conf = resolv_conf
        self.hook_dir = hook_dir
        self.writable = tuple(writable)
        self.readonly = tuple(readonly)
        self._containers: dict[str, object] = {}
        self._running = False

    # ------------------------------------------------------------- lifecycle

    def create_holder(self) -> int:
        """Start the container that holds the client's namespace; its pid, for `ip netns attach`."""
        holder = self._create("holder", self.spec.app_image, network_mode="none")
        holder.start()
        return self._pid(holder)

    def start(self) -> None:
        """This boot's VPN and application containers, in the holder's namespace."""
        if self._running:
            return
        self.hook_dir.mkdir(parents=True, exist_ok=True)
        mounts = {str(self.resolv_conf): {"bind": "/etc/resolv.conf", "mode": "rw"}}
        for folder in self.writable:
            mounts[str(folder)] = {"bind": str(folder), "mode": "rw"}
        for folder in self.readonly:
            mounts[str(folder)] = {"bind": str(folder), "mode": "ro"}
        if "vpn" not in self._containers:
            self._create(
                "vpn",
                self.spec.image,
                network_mode=f"container:{self.names['holder']}",
                cap_add=["NET_ADMIN"],
                devices=["/dev/net/tun:/dev/net/tun:rwm"],
                sysctls=self.spec.sysctls or None,
                volumes={**mounts, str(self.hook_dir): {"bind": HOOK_DIR, "mode": "rw"}},
            )
            app_mounts = {p: {"bind": b, "mode": "ro"} for p, b in self.spec.app_mounts.items()}
            self._create(
                "app",
                self.spec.app_image,
                network_mode=f"container:{self.names['vpn']}",
                volumes={str(self.resolv_conf): mounts[str(self.resolv_conf)], **app_mounts},
            )
        for role in ("vpn", "app"):
            container = self._containers[role]
            container.start()
            self._pid(container)
        self._running = True

    def stop(self) -> None:
        """End this boot: the VPN and application containers die (SIGKILL), the holder stays."""
        if not self._running:
            return
        self._running = False
        for role in ("app", "vpn"):
            container = self._containers[role]
            container.reload()
            if container.status == "running":
                container.kill()
            container.wait(timeout=30)

    def remove(self) -> None:
        """Remove the three containers (teardown; the registry does it too, for a dead owner)."""
        docker = docker_module()
        for role in ("app", "vpn", "holder"):
            with suppress(docker.errors.NotFound):
                self.engine.containers.get(self.names[role]).remove(force=True)
        self._containers.clear()
        self._running = False

    def alive(self) -> bool:
        """Whether the VPN container runs (a hook's kill of its init ends this boot)."""
        if not self._running:
            return False
        container = self._containers["vpn"]
        container.reload()
        return container.status == "running"

    def _ended(self) -> None:
        """Raise when the VPN container has stopped (what was in it died with it)."""
        if not self.alive():
            raise LabError("the VPN container ended: its first process exited, its hook with it")

    def _create(self, role: str, image: str, **options):
        docker = docker_module()
        try:
            container = self.engine.containers.create(
                image,
                entrypoint=[],
                command=IDLE,
                name=self.names[role],
                init=True,
                detach=True,
                labels={"leakcert.role": role},
                **options,
            )
        except docker.errors.APIError as exc:
            reason = exc.explanation or exc
            raise LabError(f"cannot create the {role} container: {reason}") from None
        self._containers[role] = container
        return container

    def _pid(self, container) -> int:
        container.reload()
        pid = container.attrs["State"]["Pid"]
        if container.status != "running" or not pid:
            raise LabError(f"the {container.name} container did not start ({container.status})")
        return pid

    # ------------------------------------------------------------- hooks and applications

    def run(
        self,
        command: str,
        *,
        cwd: Path | None = None,
        env: dict[str, str],
        cgroup: Cgroup,
        output: Path,
        timeout: float,
    ) -> int | None:
        """Run `command` with /bin/sh in the VPN container, in `cgroup` (as `Sandbox.run`).

        It runs from the image's working directory (`cwd` is the subject's
        folder on the machine, which the container does not see). Returns its
        exit status once its own process has exited; None past `timeout`
        (it and what it started are killed).
        """
        del cwd
        if not self.alive():
            raise LabError("the VPN container ended: its first process exited")
        # Names the subject, which may write this folder, cannot have made beforehand.
        run = os.urandom(8).hex()
        gate, log = self.hook_dir / f"gate-{run}", self.hook_dir / f"hook-{run}.log"
        os.mkfifo(gate, 0o600)
        # Opened read-write: never blocks, and the word waits in the pipe until read.
        gate_fd = os.open(gate, os.O_RDWR)
        try:
            api = self.engine.api
            argv = ["/bin/sh", "-c", _HOOK, f"{HOOK_DIR}/{gate.name}", f"{HOOK_DIR}/{log.name}"]
            exec_id = api.exec_create(
                self.names["vpn"],
                [*argv, command],
                environment=env,
                privileged=False,
            )["Id"]
            api.exec_start(exec_id, detach=True)
            pid = until("the hook's process to start", lambda: api.exec_inspect(exec_id)["Pid"])
            if not _release_and_await(pid, cgroup, gate_fd, timeout):
                cgroup.kill()
                return None
            return until(
                "the engine to record the hook's exit",
                lambda: _exit_code(api.exec_inspect(exec_id)) or self._ended(),
                timeout=10,
            )[0]
        except docker_module().errors.APIError as exc:
            reason = exc.explanation or exc
            raise LabError(f"cannot run a hook in the VPN container: {reason}") from None
        finally:
            os.close(gate_fd)
            with suppress(OSError):
                gate.unlink()
            _move_log(log, output)

    def app_run(self, argv: list[str], env: dict[str, str], timeout: float) -> tuple[int, str, str]:
        """Run `argv` in the application container; its exit status, standard output and
        standard error."""
        container = self._containers.get("app")
        if container is None or not self._running:
            self.start()
            container = self._containers["app"]
        docker = docker_module()
        try:
            result = container.exec_run(
                ["timeout", "--signal=KILL", f"{timeout:g}", *argv], environment=env, demux=True
            )
        except docker.errors.APIError as exc:
            where = "in the application container"
            raise LabError(f"cannot run {shlex.join(argv)} {where}: {exc}") from None
        stdout, stderr = (part.decode(errors="replace") if part else "" for part in result.output)
        return result.exit_code, stdout, stderr


def _release_and_await(pid: int, cgroup: Cgroup, gate_fd: int, timeout: float) -> bool:
    """Move the hook's process into `cgroup`, let it run, and await its exit (a pidfd
    becomes readable then); whether it exited within `timeout`."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True  # it ended before it was moved (its exit status says why)
    try:
        with suppress(ProcessLookupError):
            cgroup.procs_file.write_text(str(pid))
            os.write(gate_fd, b"go\n")
        return bool(select.select([pidfd], [], [], timeout)[0])
    finally:
        os.close(pidfd)


def _exit_code(info: dict) -> tuple[int] | None:
    """(exit status,) once the engine has recorded it (a 1-tuple: 0 is a result, not a miss)."""
    if info.get("Running") or info.get("ExitCode") is None:
        return None
    return (info["ExitCode"],)


def _move_log(log: Path, output: Path) -> None:
    """The hook's log, from the folder the container sees to the lab's logs (never a link)."""
    try:
        mode = os.lstat(log).st_mode
    except FileNotFoundError:
        output.write_bytes(b"")
        return
    if stat.S_ISREG(mode):
        os.replace(log, output)
    else:  # the subject put something else there: its output is not to be trusted to a path
        log.unlink()
        output.write_bytes(b"")
