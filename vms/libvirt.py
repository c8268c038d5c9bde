"""A libvirt of the lab's own: libvirtd and virtlogd started by hand in the lab's
router namespace, for the Vagrant path of the Linux guest (`vms.vagrant`).

    daemons = Libvirt(router, cgroup, folder).start()
    daemons.virsh("list", "--all")           # over the lab's own socket
    daemons.uri                              # what vagrant-libvirt connects to
    daemons.stop()                           # by pid; the folder holds all their state

PID 1 here is not systemd, so nothing starts libvirt for us, and the
machine's own libvirt (if any) is never touched: both daemons run in a mount
namespace of their own (`unshare -m`) in which /etc/libvirt, /var/lib/libvirt,
/var/log/libvirt and /var/cache/libvirt are the lab's folders, /run is a
fresh tmpfs, and /dev/kvm is /dev/null: KVM hangs guests on these machines,
and libvirt's probe of QEMU with KVM hangs with them (TCG only, as the QEMU
path). Every domain, network, pool and volume they define lives in
those folders and goes with them. They run in the router's network
namespace, so every tap they make is there, on the lab's own bridge, and no
link can reach the machine's own namespace. They run in the lab's cgroup:
the sweep of a lab whose runner died (SIGKILL) ends them with their VMs.

qemu.conf: QEMU runs as root with its capabilities (it opens no device of
the machine's: only the lab's tap and the lab's files), in no cgroup of
libvirt's (it stays in the lab's), with no security driver (none is set up
here) and no private /dev.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

from netns.errors import LabError
from netns.host import Host
from netns.procs import Cgroup, Daemon
from netns.wait import until

QEMU_CONF = """\
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
clear_emulator_capabilities = 0
cgroup_controllers = [ ]
namespaces = [ ]
"""
# The state folders of a privileged libvirt, each bound to one of the lab's.
STATE = {
    "etc": "/etc/libvirt",
    "lib": "/var/lib/libvirt",
    "log": "/var/log/libvirt",
    "cache": "/var/cache/libvirt",
}
# Run inside `unshare -m` (a private mount namespace): $1 is the lab's folder.
BINDS = " ".join(f"{key}:{target}" for key, target in STATE.items())
START = f"""\
set -e
for pair in {BINDS}; do
    mount --bind "$1/${{pair%%:*}}" "${{pair#*:}}"
done
mount -t tmpfs -o mode=0755 leakcert-libvirt /run
[ ! -e /dev/kvm ] || mount --bind /dev/null /dev/kvm
mkdir -p /run/libvirt
virtlogd --pid-file "$1/virtlogd.pid" --config "$1/etc/virtlogd.conf" &
exec libvirtd --pid-file "$1/libvirtd.pid" --config "$1/etc/libvirtd.conf"
"""
START_TIMEOUT = 60.0


class Libvirt:
    """libvirtd and virtlogd of one lab, in its router namespace and cgroup."""

    def __init__(self, router: Host, cgroup: Cgroup, folder: Path) -> None:
        self.router = router
        self.cgroup = cgroup
        self.folder = folder
        self.socket = folder / "sock" / "libvirt-sock"
        self._daemon: Daemon | None = None

    @property
    def uri(self) -> str:
        return f"qemu:///system?socket={self.socket}"

    def start(self) -> Libvirt:
        if self._daemon is not None:
            raise LabError("libvirt is already running")
        for key in STATE:
            (self.folder / key).mkdir(parents=True, exist_ok=True)
        (self.folder / "sock").mkdir(exist_ok=True)
        etc = self.folder / "etc"
        (etc / "qemu.conf").write_text(QEMU_CONF)
        (etc / "libvirtd.conf").write_text(
            f'unix_sock_dir = "{self.socket.parent}"\n'
            'unix_sock_rw_perms = "0700"\n'
            'auth_unix_rw = "none"\nauth_unix_ro = "none"\n'
            f'log_outputs = "3:file:{self.folder}/log/libvirtd.log"\n'
        )
        (etc / "virtlogd.conf").write_text(
            f'log_outputs = "3:file:{self.folder}/log/virtlogd.log"\n'
        )
        for tool in ("libvirtd", "virtlogd", "virsh", "unshare", "tini"):
            if shutil.which(tool) is None:
                raise LabError(f"{tool} is missing (bin/install-deps installs it)")
        # tini reaps what libvirt leaves to its parent: QEMU daemonizes, and a
        # zombie QEMU would be a live one to libvirt (and the lab's runner, a
        # subreaper, would hold it while it waits on libvirt).
        argv = ["unshare", "-m", "--propagation", "private", "tini", "-s", "--"]
        argv += ["/bin/sh", "-c", START, "libvirt"]
        self._daemon = self.router.spawn("libvirtd", [*argv, str(self.folder)], self.cgroup)
        until("libvirtd to answer", self._answers, START_TIMEOUT)
        return self

    def _answers(self) -> bool:
        if self._daemon is not None and self._daemon.popen.poll() is not None:
            log = self._daemon.output().strip().splitlines() or ["no output"]
            raise LabError(f"libvirtd exited ({self._daemon.popen.returncode}): {log[-1]}")
        if not self.socket.exists():
            return False
        return self.virsh("version", check=False).returncode == 0

    def virsh(
        self, *args: str, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess:
        """`virsh` against the lab's libvirtd (a client: it needs no namespace)."""
        proc = subprocess.run(
            ["virsh", "-q", "-c", self.uri, *args],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            reason = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
            raise LabError(f"virsh {args[0]} failed ({proc.returncode}): {reason}")
        return proc

    def pids(self) -> dict[str, int]:
        """The daemons' pids, from their own pid files."""
        found = {}
        for name in ("libvirtd", "virtlogd"):
            try:
                found[name] = int((self.folder / f"{name}.pid").read_text().strip())
            except (OSError, ValueError):
                continue
        return found

    def stop(self) -> None:
        """End libvirtd, then virtlogd, by their pids; safe to call twice."""
        daemon, self._daemon = self._daemon, None
        if daemon is None:
            return
        pids = self.pids()
        if "libvirtd" in pids:
            _signal(pids["libvirtd"], signal.SIGTERM)
        daemon.stop(timeout=15)
        if "virtlogd" in pids:
            _signal(pids["virtlogd"], signal.SIGTERM)
            until("virtlogd to exit", lambda: not _alive(pids["virtlogd"]), 10)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
