"""What a LAN's router announces beyond its prefixes, and the client daemons that read it:
radvd's router advertisements with RDNSS (RFC 8106) and Route Information (RFC 4191)
options, dnsmasq as a stateless DHCPv6 server (DNS servers only), and on the client
rdnssd and ISC dhclient -6, which write what they learn into /etc/resolv.conf.

Every one is the real Debian daemon, in the foreground, owned by the lab.
"""

from __future__ import annotations

from pathlib import Path

from netns.daemons import _dnsmasq_base, check_tools
from netns.host import Host
from netns.procs import Cgroup, Daemon

# The router's and the client's daemons of the IPv6 options (Debian packages).
RA_TOOLS = {"radvd": "radvd", "rdnssd": "rdnssd"}

# What rdnssd runs when it learns or forgets a server: its servers in place of the
# file's IPv6 ones, written in place (the client's resolv.conf is a bind mount, which
# Debian's merge hook would try to rename over).
RDNSSD_HOOK = """#!/bin/sh
{{ grep -v '^nameserver .*:' /etc/resolv.conf; grep '^nameserver' {servers}; }} > {scratch}
cat {scratch} > /etc/resolv.conf
"""


def start_radvd(
    router: Host,
    bridge: str,
    workdir: Path,
    *,
    prefixes: tuple[str, ...] = (),
    routes: tuple[str, ...] = (),
    rdnss: tuple[str, ...] = (),
    default_router: bool = False,
) -> Daemon:
    """radvd announcing `prefixes` (SLAAC), `routes` (RFC 4191, high preference) and
    `rdnss` (RFC 8106) on `bridge`; a default router only if `default_router` (its
    advertisements must not withdraw the default route the LAN's dnsmasq announces)."""
    lines = [
        f"interface {bridge} {{",
        "  AdvSendAdvert on;",
        "  MinRtrAdvInterval 3;",
        "  MaxRtrAdvInterval 4;",
        f"  AdvDefaultLifetime {1800 if default_router else 0};",
        "  AdvOtherConfigFlag on;",
        *[f"  prefix {p} {{ AdvOnLink on; AdvAutonomous on; }};" for p in prefixes],
        *[f"  route {r} {{ AdvRoutePreference high; }};" for r in routes],
        *([f"  RDNSS {' '.join(rdnss)} {{ }};"] if rdnss else []),
        "};",
        "",
    ]
    check_tools(RA_TOOLS)
    config = workdir / f"radvd-{bridge}.conf"
    config.write_text("\n".join(lines))
    argv = ["radvd", "--nodaemon", "--config", str(config), "--logmethod", "stderr"]
    argv += ["--pidfile", str(workdir / f"radvd-{bridge}.pid"), "--debug", "1"]
    daemon = router.spawn(f"radvd-{bridge}", argv)
    daemon.wait_for_log(r"polling for")
    return daemon


def start_dhcp6(router: Host, bridge: str, workdir: Path, dns: tuple[str, ...]) -> Daemon:
    """dnsmasq answering DHCPv6 information requests on `bridge` with `dns`, and nothing else
    (no DNS service, no router advertisements, no addresses)."""
    name = f"dhcp6-{bridge}"
    log = router.logdir / f"router-{name}.log"
    servers = ",".join(f"[{a}]" for a in dns)
    argv = [
        *_dnsmasq_base(workdir, name, log),
        "--port=0",
        f"--interface={bridge}",
        "--except-interface=lo",
        # An all-zeros static range answers every information request (stateless DHCPv6).
        "--dhcp-range=::,static",
        f"--dhcp-option=option6:dns-server,{servers}",
        "--log-dhcp",
    ]
    daemon = Daemon(name, router.argv(argv), router.cgroup, log)
    daemon.wait_for_log(r"DHCPv6, static leases only")
    return daemon


def start_rdnssd(client: Host, workdir: Path, cgroup: Cgroup) -> Daemon:
    """rdnssd on the client: the RDNSS servers it hears go into /etc/resolv.conf."""
    check_tools(RA_TOOLS)
    servers, hook = workdir / "rdnssd-servers.conf", workdir / "rdnssd-hook"
    hook.write_text(RDNSSD_HOOK.format(servers=servers, scratch=workdir / "rdnssd-merge.conf"))
    hook.chmod(0o755)
    argv = ["rdnssd", "--foreground", "--user", "root", "--resolv-file", str(servers)]
    argv += ["--merge-hook", str(hook), "--pidfile", str(workdir / "rdnssd.pid")]
    return client.spawn("rdnssd", argv, cgroup=cgroup)


def start_dhclient6(client: Host, ifname: str, workdir: Path, cgroup: Cgroup) -> Daemon:
    """ISC dhclient asking DHCPv6 for information only (-S): DNS servers, via Debian's script."""
    argv = ["dhclient", "-6", "-S", "-d", "-v", "-cf", "/etc/dhcp/dhclient.conf"]
    argv += ["-lf", str(workdir / "dhclient6.leases"), "-pf", str(workdir / "dhclient6.pid")]
    return client.spawn("dhclient6", [*argv, ifname], cgroup=cgroup)
