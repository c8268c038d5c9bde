"""The Docker engine that container clients run on: the machine's, or one the lab starts.

Where no engine answers (`DOCKER_HOST`, or /var/run/docker.sock), the lab
starts Debian's `dockerd` with roots of its own, so that it touches nothing of
the machine's Docker and nothing of the machine's network:

    data root   /var/lib/leakcert/docker      kept: the image cache lives there
    exec root   /run/leakcert/docker/exec     removed when the engine stops
    socket      /run/leakcert/docker/docker.sock
    no iptables, no ip6tables, no bridge, no IP forwarding: its containers
    have no network but the one the lab attaches (`netns.container_client`)

One engine serves every process of a run. Its record (`engine.json`, beside
the lab's registry) names its pid and the processes using it; a process
joins once and leaves when it exits; the last one to leave stops it. A user
that dies without leaving (SIGKILL) is found dead by the next lab's sweep,
which stops the engine when no user is alive. The engine's processes (dockerd,
containerd, the shims) live in a cgroup of their own, killed with it.

The containers a lab creates, on any engine, are named in a record of their
own (`labs/<lab id>.json`) before they are created: the lab removes them at
its teardown, and the sweep removes those of a lab whose owner is dead.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import select
import shutil
import signal
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

from netns.errors import LabError
from netns.procs import Cgroup, Daemon, cgroup2_root
from netns.registry import REGISTRY, process_start_time
from netns.wait import until

HOME = REGISTRY.parent / "docker"
DATA_ROOT = Path("/var/lib/leakcert/docker")
SOCKET = HOME / "docker.sock"
RECORD = HOME / "engine.json"
LABS = HOME / "labs"
MACHINE_SOCKET = Path("/var/run/docker.sock")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def docker_module():
    """The Docker SDK for Python, or one line saying how to install it."""
    try:
        import docker
    except ImportError:
        raise LabError(
            "container subjects need the Docker SDK for Python: pip install 'leakcert[containers]'"
        ) from None
    return docker


@dataclass
class EngineRecord:
    """The engine the lab started, and the processes using it."""

    pid: int
    start: int
    socket: str
    users: list[list[int]] = field(default_factory=list)  # [pid, start time]

    def alive(self) -> bool:
        return process_start_time(self.pid) == self.start

    def live_users(self) -> list[list[int]]:
        return [u for u in self.users if process_start_time(u[0]) == u[1]]


@contextmanager
def _locked() -> Iterator[None]:
    HOME.mkdir(parents=True, exist_ok=True)
    with open(HOME / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _load() -> EngineRecord | None:
    try:
        return EngineRecord(**json.loads(RECORD.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _save(record: EngineRecord) -> None:
    tmp = RECORD.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(record)))
    tmp.replace(RECORD)


def _answers(address: str) -> bool:
    docker = docker_module()
    try:
        with closing(docker.DockerClient(base_url=address, timeout=10)) as engine:
            return bool(engine.ping())
    except docker.errors.DockerException:  # what the SDK raises while a daemon starts
        return False


def _machine_engine() -> str | None:
    """The address of an engine that runs already, if any (the lab then starts none)."""
    address = os.environ.get("DOCKER_HOST") or (
        f"unix://{MACHINE_SOCKET}" if MACHINE_SOCKET.exists() else None
    )
    return address if address is not None and _answers(address) else None


_joined: str | None = None


def engine_address() -> str:
    """The engine's address, joining (or starting) the lab's own if no engine runs."""
    global _joined
    if _joined is None:
        _joined = _machine_engine() or _join()
    return _joined


def client():
    """A Docker SDK client of the engine (`engine_address`)."""
    return docker_module().DockerClient(base_url=engine_address(), timeout=120)


def _join() -> str:
    me = [os.getpid(), process_start_time(os.getpid()) or 0]
    with _locked():
        record = _load()
        if record is not None and not record.alive():
            _clean(record)
            record = None
        if record is None:
            record = _start()
        record.users = [*record.live_users(), me]
        _save(record)
    atexit.register(_leave)
    return f"unix://{record.socket}"


def _leave() -> None:
    """This process no longer uses the engine; the last user stops it."""
    with _locked():
        record = _load()
        if record is None:
            return
        record.users = [u for u in record.live_users() if u[0] != os.getpid()]
        if record.users:
            _save(record)
        else:
            _stop(record)


@dataclass
class ContainersRecord:
    """The containers one lab created on an engine, and who owns them."""

    lab_id: str
    owner_pid: int
    owner_start: int
    address: str
    names: list[str]

    @property
    def path(self) -> Path:
        return LABS / f"{self.lab_id}.json"

    def release(self) -> None:
        """Remove the containers (by name), then this record."""
        docker = docker_module()
        from requests.exceptions import RequestException  # the SDK's transport: there with it

        # An engine that is gone or going (its socket removed) raises requests' errors,
        # not Docker's: either way its containers went with it, and the sweep goes on.
        with suppress(docker.errors.DockerException, RequestException, OSError):
            engine = docker.DockerClient(base_url=self.address, timeout=60)
            with closing(engine):
                for name in self.names:
                    # Gone already, or being removed by another sweep: either way, going.
                    with suppress(docker.errors.APIError):
                        engine.containers.get(name).remove(force=True)
        self.path.unlink(missing_ok=True)


def record_containers(lab_id: str, names: list[str]) -> ContainersRecord:
    """Name the containers a lab is about to create on the engine, before it does."""
    pid = os.getpid()
    record = ContainersRecord(
        lab_id, pid, process_start_time(pid) or 0, engine_address(), list(names)
    )
    LABS.mkdir(parents=True, exist_ok=True)
    tmp = record.path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(record)))
    tmp.replace(record.path)
    return record


def sweep_dead() -> bool:
    """Remove the containers of labs whose owner is dead, then stop the lab's engine if no
    process that joined it is alive; whether it stopped it."""
    for path in sorted(LABS.glob("*.json")) if LABS.is_dir() else []:
        try:
            record = ContainersRecord(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            path.unlink(missing_ok=True)
            continue
        if process_start_time(record.owner_pid) != record.owner_start:
            # Without the SDK here, the lab's own engine removes them when it next starts.
            with suppress(LabError):
                record.release()
    if not RECORD.exists():
        return False
    with _locked():
        record = _load()
        if record is None or record.live_users():
            return False
        _stop(record)
        return True


def _cgroup() -> Cgroup:
    return Cgroup(cgroup2_root() / "leakcert" / "docker-engine")


def _start() -> EngineRecord:
    for tool in ("dockerd", "containerd", "runc"):
        if shutil.which(tool) is None:
            raise LabError(f"{tool} is missing: apt-get install docker.io")
    HOME.mkdir(parents=True, exist_ok=True)
    DATA_ROOT.mkdir(parents=True, exist_ok=True)
    SOCKET.unlink(missing_ok=True)
    argv = [
        "dockerd",
        f"--data-root={DATA_ROOT}",
        f"--exec-root={HOME / 'exec'}",
        f"--pidfile={HOME / 'dockerd.pid'}",
        f"--host=unix://{SOCKET}",
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
        "--ip-forward=false",
        "--ip-masq=false",
        "--userland-proxy=false",
        # PID 1 is not systemd here: cgroups are written directly.
        "--exec-opt=native.cgroupdriver=cgroupfs",
        "--log-level=warn",
    ]
    daemon = Daemon("docker/dockerd", argv, _cgroup().create(), HOME / "dockerd.log")
    record = EngineRecord(daemon.pid, process_start_time(daemon.pid) or 0, str(SOCKET))
    _save(record)

    def answers() -> bool:
        if daemon.popen.poll() is not None:
            raise LabError(f"dockerd exited ({daemon.popen.returncode}): see {daemon.log}")
        return _answers(f"unix://{SOCKET}")

    try:
        until("the lab's Docker engine to answer", answers, START_TIMEOUT)
        engine = docker_module().DockerClient(base_url=f"unix://{SOCKET}", timeout=60)
        with closing(engine):
            _remove_stale_containers(engine)
    except BaseException:
        _stop(record)
        raise
    return record


def _remove_stale_containers(engine) -> None:
    """Every container in the lab's own data root is a dead lab's: none may outlive it."""
    for container in engine.containers.list(all=True):
        container.remove(force=True)


def _stop(record: EngineRecord) -> None:
    """SIGTERM to dockerd (it stops its containers), wait for its exit, kill what is left."""
    if record.alive():
        try:
            pidfd = os.pidfd_open(record.pid)
        except ProcessLookupError:
            pidfd = None
        if pidfd is not None:
            with os.fdopen(pidfd, "rb", buffering=0) as handle:
                signal.pidfd_send_signal(handle.fileno(), signal.SIGTERM)
                # A pidfd becomes readable when its process has exited.
                if not select.select([handle], [], [], STOP_TIMEOUT)[0]:
                    signal.pidfd_send_signal(handle.fileno(), signal.SIGKILL)
    _clean(record)


def _clean(record: EngineRecord) -> None:
    _cgroup().remove()
    with suppress(ChildProcessError, OSError):
        os.waitpid(record.pid, os.WNOHANG)
    shutil.rmtree(HOME / "exec", ignore_errors=True)
    for path in (SOCKET, HOME / "dockerd.pid", RECORD):
        path.unlink(missing_ok=True)
