"""The client's DHCP client: ISC dhclient with Debian's script and hooks.

The client host gets its own /etc/dhcp (bind-mounted by `ip netns exec` from
/etc/netns/<client>/dhcp) holding dhclient.conf and the RFC 3442 exit hook
only, so option 121 routes are installed as a Debian desktop would, and no
hook of the machine's own (chrony, timesyncd) runs for the lab.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from netns.errors import LabError
from netns.host import Host
from netns.procs import Cgroup, Daemon

SYSTEM_DHCP = Path("/etc/dhcp")
RFC3442_HOOK = "dhclient-exit-hooks.d/rfc3442-classless-routes"


def install_client_config(etc_dir: Path) -> None:
    """Give the client host its own /etc/dhcp with the option-121 hook."""
    hook = SYSTEM_DHCP / RFC3442_HOOK
    if not hook.exists():
        raise LabError(f"{hook} not found: install the Debian package isc-dhcp-client")
    dhcp = etc_dir / "dhcp"
    (dhcp / "dhclient-exit-hooks.d").mkdir(parents=True, exist_ok=True)
    (dhcp / "dhclient-enter-hooks.d").mkdir(exist_ok=True)
    shutil.copy2(SYSTEM_DHCP / "dhclient.conf", dhcp / "dhclient.conf")
    shutil.copy2(hook, dhcp / RFC3442_HOOK)


class DhcpClient:
    """dhclient on the client's uplink, in the client's system cgroup."""

    def __init__(self, host: Host, ifname: str, workdir: Path, cgroup: Cgroup) -> None:
        self.host = host
        self.ifname = ifname
        self.workdir = workdir
        self.cgroup = cgroup
        self.daemon: Daemon | None = None
        self.lease_file = workdir / "dhclient.leases"

    def start(self, timeout: float = 15.0) -> None:
        """Ask for a lease (INIT-REBOOT when one is known) and wait until bound."""
        self.ask()
        self.wait_bound(timeout)

    def ask(self) -> None:
        """Start asking for a lease; `wait_bound` awaits it."""
        self.stop()
        self.daemon = self.host.spawn(
            "dhclient",
            [
                "dhclient",
                "-d",
                "-v",
                "-4",
                "-cf",
                "/etc/dhcp/dhclient.conf",
                "-lf",
                str(self.lease_file),
                "-pf",
                str(self.workdir / "dhclient.pid"),
                self.ifname,
            ],
            cgroup=self.cgroup,
        )

    def wait_bound(self, timeout: float = 15.0) -> None:
        """Wait until the lease asked for is bound (its addresses and routes are set)."""
        if self.daemon is None:
            raise LabError("no lease was asked for")
        self.daemon.wait_for_log(r"bound to [0-9.]+", timeout=timeout)

    def renew(self, timeout: float = 15.0) -> None:
        """Get a fresh lease with the server's current options, as after a link comes back."""
        self.start(timeout)

    def stop(self) -> None:
        """Stop without releasing the lease (a desktop keeps it across reconnects)."""
        if self.daemon is not None:
            self.daemon.stop()
            self.daemon = None

    def forget_process(self) -> None:
        """The process was killed with its host (a reboot): reap it; the lease file stays."""
        if self.daemon is not None:
            self.daemon.wait(5)
            self.daemon = None
