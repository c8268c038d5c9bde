"""The client as a subject sees it: a sandbox that holds a kill switch to the client.

A subject's hooks run as root in the client's network namespace, as a kill
switch does on a desktop, and see nothing else of the machine. bubblewrap
builds the view, once per boot of the client:

- a PID namespace of its own: what a hook leaves running (wireguard-go,
  openvpn, a watcher) is adopted by the sandbox's init, and the later hooks of
  the same boot see it and can stop it. The lab still sees every process by
  its host pid in the lab's cgroups, and kills or freezes them there;
- a mount namespace of its own: the machine's system folders read-only; an
  /etc of the client's own (the machine's, with the client's changes kept
  across its reboots) whose resolv.conf is the one the client's applications
  read; /run, /tmp and /dev of its own; /proc of its PID namespace, read-only
  but for the client's network settings; the client's sysfs read-only; and
  the folders it is given. Other labs, the lab's registry, /run/netns, the
  capture, the workdir and the results are not in it;
- a bounding set without CAP_SYS_ADMIN, CAP_MKNOD, CAP_SYS_MODULE,
  CAP_SYS_RAWIO, CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_SYS_TIME, ...: no
  mount, setns, device node, module or file handle reaches past that view,
  and with no cgroup filesystem in view and none to mount, no process leaves
  the cgroup the lab put it in.

Each hook enters the sandbox with nsenter, in the cgroup it is given, and
drops its capabilities with setpriv before the subject's command runs.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from netns.errors import LabError
from netns.host import Host
from netns.procs import Cgroup, Daemon, children_of, reap_orphans
from netns.registry import ETC_NETNS

# What root keeps in the sandbox: a desktop kill switch's needs (files it
# owns, its processes, its network namespace), nothing that crosses a namespace.
CAPABILITIES = (
    "chown",
    "dac_override",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "sys_chroot",
    "sys_nice",
    "sys_resource",
    "audit_write",
)
# The machine's system folders, read-only (or their merged-/usr symlinks).
SYSTEM = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "opt")
# Of the client's own /etc files (/etc/netns/<client>/), the ones a subject may
# write: its resolver. The others configure the lab's own processes on the
# client (dhclient runs its hooks as the lab), so they are read-only.
WRITABLE_ETC = frozenset({"resolv.conf"})
READY = "sandbox ready"

# Runs in the mount namespace `ip netns exec` made: the client's /etc is the
# machine's with an overlay of the client's changes, mounted there (bubblewrap
# cannot), so it vanishes with the sandbox and never touches the machine's.
# An /etc entry the client has a file of its own for must not be a symlink
# (a systemd-resolved resolv.conf): the file is mounted on it.
_MOUNT_ETC = """
set -eu
etc=$1 own=$2
shift 2
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$etc.upper,workdir=$etc.work" "$etc"
for entry in "$own"/*; do
    if [ -L "$etc/${entry##*/}" ]; then rm "$etc/${entry##*/}"; fi
done
exec "$@"
"""
# The sandbox's first process: bubblewrap's init adopts and reaps what hooks
# leave behind for as long as this runs.
_KEEPER = f'echo "{READY}" && exec sleep infinity'
# The hook's own shell changes to the subject's folder inside the sandbox:
# nsenter is given no path, as it would open one outside it.
_HOOK = 'cd "$0" && exec /bin/sh -c "$1"'


class Sandbox:
    """One boot of the client as a subject's hooks see it.

    `root` holds the client's own /etc changes and /var, kept across boots.
    `writable` and `readonly` are folders of the machine shown at their own
    paths. The sandbox's processes belong to `cgroup`; a hook's to the cgroup
    it runs in.
    """

    def __init__(
        self,
        host: Host,
        root: Path,
        cgroup: Cgroup,
        *,
        writable: Sequence[Path] = (),
        readonly: Sequence[Path] = (),
    ) -> None:
        self.host = host
        self.root = root
        self.cgroup = cgroup
        self.writable = tuple(writable)
        self.readonly = tuple(readonly)
        self._daemon: Daemon | None = None
        self._init = 0

    def start(self) -> None:
        """Boot: build the view and start its init; ready when the first process runs."""
        etc, var = self.root / "etc", self.root / "var"
        for folder in (etc, etc.with_suffix(".upper"), etc.with_suffix(".work")):
            folder.mkdir(parents=True, exist_ok=True)
        if not var.exists():
            # A desktop's /var, made once: what the subject does to it then stays.
            (var / "tmp").mkdir(parents=True)
            (var / "run").symlink_to("../run")
            (var / "lock").symlink_to("../run/lock")
        own = ETC_NETNS / self.host.namespace
        argv = ["/bin/sh", "-c", _MOUNT_ETC, "mount-etc", str(etc), str(own), *self._bwrap(own)]
        self._daemon = self.host.spawn("sandbox", argv, cgroup=self.cgroup)
        self._daemon.wait_for_log(READY)
        # bubblewrap's only child is the sandbox's init (PID 1 inside).
        self._init = children_of(self._daemon.pid)[0]

    def _bwrap(self, own: Path) -> list[str]:
        argv = ["bwrap", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--cap-drop", "ALL"]
        for name in SYSTEM:
            path = Path("/", name)
            if path.is_symlink():
                argv += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                argv += ["--ro-bind", str(path), str(path)]
        argv += ["--bind", str(self.root / "etc"), "/etc", "--tmpfs", str(ETC_NETNS)]
        for entry in sorted(own.iterdir()):
            mode = "--bind" if entry.name in WRITABLE_ETC else "--ro-bind"
            argv += [mode, str(entry), f"/etc/{entry.name}"]
        argv += [
            "--bind", str(self.root / "var"), "/var",
            "--tmpfs", "/run", "--dir", "/run/lock",
            "--tmpfs", "/tmp",
            "--dev", "/dev", "--dev-bind", "/dev/net/tun", "/dev/net/tun", "--tmpfs", "/dev/shm",
            # The sandbox's own processes; the kernel's settings read-only (they
            # are the machine's), but for the network's (the client's own).
            "--proc", "/proc",
            "--ro-bind", "/proc/sys", "/proc/sys",
            "--bind", "/proc/sys/net", "/proc/sys/net",
            "--ro-bind-try", "/proc/sysrq-trigger", "/proc/sysrq-trigger",
            # `ip netns exec` mounted the client's sysfs: its interfaces, no cgroups.
            "--ro-bind", "/sys", "/sys",
        ]  # fmt: skip
        for folder in self.writable:
            argv += ["--bind", str(folder), str(folder)]
        for folder in self.readonly:
            argv += ["--ro-bind", str(folder), str(folder)]
        return [*argv, "--chdir", "/", "--", "/bin/sh", "-c", _KEEPER]

    def alive(self) -> bool:
        return self._daemon is not None and self._daemon.popen.poll() is None

    def run(
        self,
        command: str,
        *,
        cwd: Path,
        env: dict[str, str],
        cgroup: Cgroup,
        output: Path,
        timeout: float,
    ) -> int | None:
        """Run `command` with /bin/sh in the sandbox, from `cwd`, in `cgroup`.

        Its output (and that of anything it starts without redirecting it) goes
        to `output`. Returns its exit status once its own process has exited,
        whatever it left running; None if it ran past `timeout`, in which case
        it and everything it started are killed.
        """
        if not self.alive():
            raise LabError("the client's sandbox has ended: a process in it killed its first one")
        argv = [
            "/bin/sh", "-c", 'echo 0 > "$0" && exec "$@"', str(cgroup.procs_file),
            "nsenter", f"--target={self._init}",
            "--mount", "--pid", "--net", "--ipc", "--uts", "--root", "--wd", "--",
            "setpriv", "--bounding-set=-all," + ",".join(f"+{c}" for c in CAPABILITIES), "--",
            "/bin/sh", "-c", _HOOK, str(cwd), command,
        ]  # fmt: skip
        with open(output, "wb") as out:
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                # No controlling terminal to push keystrokes into.
                start_new_session=True,
            )
        try:
            return popen.wait(timeout)
        except subprocess.TimeoutExpired:
            cgroup.kill()
            popen.wait()
            return None
        finally:
            reap_orphans()

    def stop(self) -> None:
        """End this boot: the init and, with it, every process of the sandbox."""
        if self._daemon is None:
            return
        # Killing the init makes the kernel kill its whole PID namespace.
        self.cgroup.kill()
        self._daemon.wait(10)
        self._daemon = None
