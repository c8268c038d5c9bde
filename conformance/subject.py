"""Subjects: the kill switches under test, as folders with a subject.toml.

The contract is public (README, and docs/design.md "The subject contract"): third parties
write these, so every mistake in one is reported in one line, never a
traceback.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from conformance import container_subject
from conformance.container_subject import ContainerConfig
from netns import home
from netns.lab import UPLINK, VPN_KINDS, Lab

BUILTIN = Path(__file__).parent / "subjects"
HOOKS = ("connect", "disconnect", "boot", "crash", "start")
HOOK_TIMEOUT = 30.0
OUTPUT_KEPT = 1 << 20  # bytes of a hook's output, from its end


class SubjectError(Exception):
    """A subject folder or its subject.toml is unusable (one line)."""


class HookFailed(Exception):
    """A hook exited non-zero or ran past its timeout."""

    def __init__(self, run: HookRun) -> None:
        self.run = run
        super().__init__(run.summary)


@dataclass(frozen=True)
class HookRun:
    """One run of one hook, kept as evidence."""

    hook: str
    exit: int | None  # None: it ran past its timeout
    output: str
    seconds: float

    @property
    def summary(self) -> str:
        if self.exit is None:
            return f"{self.hook} hook ran past its timeout ({self.seconds:.0f}s) and was stopped"
        last = self.output.strip().splitlines()[-1:] or ["no output"]
        return f"{self.hook} hook exited {self.exit}: {last[0]}"


@dataclass(frozen=True)
class Subject:
    name: str
    summary: str
    vpn_kind: str  # subject.toml's `vpn`
    folder: Path
    hooks: dict[str, str] = field(default_factory=dict)
    # A container subject's [container] table (`conformance.container_subject`).
    container: ContainerConfig | None = None
    # Folders besides its own that its hooks use (resolved): shared with its
    # sandbox, in its container's build context, and in its digest.
    include: tuple[Path, ...] = ()

    def has(self, hook: str) -> bool:
        return bool(self.hooks.get(hook))


def resolve(name_or_path: str) -> Path:
    """A built-in subject's name, or a path to a subject folder (or its subject.toml)."""
    path = Path(name_or_path)
    if path.name == "subject.toml":
        path = path.parent
    if not path.exists() and (BUILTIN / name_or_path).is_dir():
        path = BUILTIN / name_or_path
    return path.resolve()


def load(name_or_path: str) -> Subject:
    folder = resolve(name_or_path)
    toml = folder / "subject.toml"
    if not toml.is_file():
        known = ", ".join(
            sorted(p.name for p in BUILTIN.iterdir() if (p / "subject.toml").exists())
        )
        raise SubjectError(f"no subject.toml in {folder} (built-in subjects: {known})")
    try:
        data = tomllib.loads(toml.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SubjectError(f"{toml}: not valid TOML: {exc}") from None
    for key in ("name", "summary"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise SubjectError(f"{toml}: `{key}` must be a non-empty string")
    vpn = data.get("vpn", "wireguard")
    if vpn not in VPN_KINDS:
        raise SubjectError(f"{toml}: vpn = {vpn!r} is not one of {', '.join(VPN_KINDS)}")
    hooks = data.get("hooks")
    if not isinstance(hooks, dict):
        raise SubjectError(f"{toml}: a [hooks] table with at least `connect` is required")
    unknown = set(hooks) - set(HOOKS)
    if unknown:
        raise SubjectError(f"{toml}: unknown hook(s) {', '.join(sorted(unknown))}")
    if any(not isinstance(v, str) for v in hooks.values()):
        raise SubjectError(f"{toml}: every hook is a shell command string")
    if not hooks.get("connect", "").strip():
        raise SubjectError(f"{toml}: the `connect` hook is required")
    extra = set(data) - {"name", "summary", "vpn", "hooks", "container", "include"}
    if extra:
        raise SubjectError(f"{toml}: unknown key(s) {', '.join(sorted(extra))}")
    container = None
    if "container" in data:
        try:
            container = container_subject.parse(data["container"], toml)
        except ValueError as exc:
            raise SubjectError(str(exc)) from None
    include = _include(data.get("include", []), toml)
    return Subject(
        data["name"], data["summary"].strip(), vpn, folder, dict(hooks), container, include
    )


def _include(paths: object, toml: Path) -> tuple[Path, ...]:
    """`include`'s folders, resolved from the subject's folder. Each one's name is its
    place beside the subject's own files (in a container's build context), so it
    must be free there."""
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise SubjectError(f"{toml}: include must be a list of folders")
    folders = tuple((toml.parent / p).resolve() for p in paths)
    taken = {entry.name for entry in toml.parent.iterdir()}
    for path, folder in zip(paths, folders, strict=True):
        if not folder.is_dir():
            raise SubjectError(f"{toml}: include: {path} is not a folder")
        if folder.name in taken:
            raise SubjectError(f"{toml}: include: {folder.name} is taken in the subject's folder")
        taken.add(folder.name)
    return folders


def folder_digest(folder: Path) -> str:
    """SHA-256 over a subject folder: each file's path, kind and content, in path order.

    A symlink counts as its target's text (never followed); `__pycache__` and
    `.git` are left out, as they change without the subject changing.
    """
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if {"__pycache__", ".git"} & set(relative.parts):
            continue
        if path.is_symlink():
            entry = b"L" + os.readlink(path).encode("utf-8", "surrogateescape")
        elif path.is_file():
            entry = b"F" + hashlib.sha256(path.read_bytes()).digest()
        else:
            entry = b"D"
        digest.update(str(relative).encode("utf-8", "surrogateescape") + b"\0" + entry + b"\0")
    return digest.hexdigest()


def subject_digest(subject: Subject) -> str:
    """SHA-256 over everything of a subject's own that its hooks can run (what a
    certificate names, and what a container subject's image is built from): its
    folder (its `folder_digest`, alone when it includes nothing) and each folder
    it includes, by name and digest."""
    digest = folder_digest(subject.folder)
    if not subject.include:
        return digest
    parts = [digest, *(f"{folder.name}\0{folder_digest(folder)}" for folder in subject.include)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def hook_python() -> Path:
    """The interpreter hooks get as PYTHON."""
    return Path(os.environ.get("LEAKCERT_PYTHON", sys.executable))


def shared_folders(subject: Subject) -> tuple[Path, ...]:
    """What of the machine, beyond its system folders, a subject's hooks may read.

    Their own folder and those it includes; the interpreter's environment (a virtualenv, say); and
    leakcert's packages, wherever they are installed, for `"$PYTHON" -m enforcer`
    and the foils (the packages only: a checkout may hold results).
    """
    python = hook_python()
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    # A virtualenv's interpreter is <env>/bin/python, wherever it links to.
    prefixes |= {str(python.parent.parent), str(python.resolve().parent.parent)}
    system = ("/usr", "/bin", "/sbin", "/lib")
    shared = [subject.folder, *subject.include]
    shared += sorted(Path(p) for p in prefixes if p != "/" and not p.startswith(system))
    shared += home.package_folders()
    return tuple(shared)


def hook_environment(lab: Lab, *, lan_access: bool = False) -> dict[str, str]:
    """The KS_* variables every hook gets (the README's table); in a container, its PATH
    and no PYTHON (the machine's interpreter is not in it).

    `lan_access`: the user asked for the local network to stay reachable
    (`KS_LAN_ACCESS=1`), as VPN clients' "allow LAN" settings do.
    """
    tunnel = lab.tunnel
    if lab.containers is not None:
        machine = {"PATH": container_subject.CONTAINER_PATH}
    else:
        machine = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "PYTHON": str(hook_python()),
            **home.pythonpath(),
        }
    return {
        **machine,
        "KS_TUNNEL_CONFIG": str(tunnel.config),
        "KS_TUNNEL_IF": tunnel.interface,
        "KS_ENDPOINT_IP": tunnel.endpoint_ip,
        "KS_ENDPOINT_PORT": str(tunnel.endpoint_port),
        "KS_ENDPOINT_PROTO": tunnel.endpoint_protocol,
        "KS_VPN_DNS": tunnel.vpn_dns,
        "KS_TUNNEL_ADDR4": tunnel.address4,
        "KS_TUNNEL_ADDR6": tunnel.address6,
        "KS_UPLINK_IF": UPLINK,
        "KS_STATE_DIR": str(lab.state_dir),
        "KS_RUN_DIR": str(lab.run_dir),
        "KS_LAN_ACCESS": "1" if lan_access else "0",
    }


def run_hook(
    lab: Lab,
    subject: Subject,
    hook: str,
    timeout: float = HOOK_TIMEOUT,
    *,
    lan_access: bool = False,
) -> HookRun:
    """Run one hook in the client's sandbox, from the subject's folder (a container
    subject's: in its VPN container, from its image's working directory).

    It runs in its own cgroup, `lab.subject_cgroup.child(hook)`, so what it
    leaves running is the subject's. Its output goes to a log in the lab's
    logs (`hooks/<hook>-<n>.log`); what it wrote up to its end, or its
    timeout, is kept (its last MiB, bad bytes replaced).
    Raises HookFailed (with that output) when it fails or times out.
    """
    sandbox = lab.client_sandbox(shared_folders(subject))
    log = _hook_log(lab, hook)
    start = time.monotonic()
    code = sandbox.run(
        subject.hooks[hook],
        cwd=subject.folder,
        env=hook_environment(lab, lan_access=lan_access),
        cgroup=lab.subject_cgroup.child(hook),
        output=log,
        timeout=timeout,
    )
    run = HookRun(hook, code, _tail(log), time.monotonic() - start)
    if run.exit != 0:
        raise HookFailed(run)
    return run


def _tail(log: Path) -> str:
    """The end of a hook's output (a hook may write gigabytes before its timeout), as text."""
    with open(log, "rb") as output:
        output.seek(max(0, output.seek(0, os.SEEK_END) - OUTPUT_KEPT))
        return output.read().decode(errors="replace")


def _hook_log(lab: Lab, hook: str) -> Path:
    """A new log for this run of `hook`: connect-1.log, connect-2.log after a reboot, ..."""
    folder = lab.logdir / "hooks"
    folder.mkdir(exist_ok=True)
    runs = len(list(folder.glob(f"{hook}-*.log")))
    return folder / f"{hook}-{runs + 1}.log"
