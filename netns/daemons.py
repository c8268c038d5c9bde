"""The real daemons of the lab, each started on its host; `Daemon.ready()` awaits it.

The servers a lab needs all at once are started first and awaited together
(their start-ups overlap); wireguard-go and OpenVPN, which the next step
configures, are awaited here.

dnsmasq serves DHCP, router advertisements and DNS; wireguard-go is the VPN
server; coturn answers STUN; chronyd answers NTP; lighttpd is the web host.
Each daemon runs in the foreground so that the lab owns and reaps it.
"""

from __future__ import annotations

import shutil
from ipaddress import ip_network
from pathlib import Path

from netns.errors import LabError
from netns.host import Host
from netns.procs import Daemon
from netns.topology import DOMAIN, WEB, Lan

REQUIRED_TOOLS = {
    "ip": "iproute2",
    "nft": "nftables",
    "tcpdump": "tcpdump",
    "dnsmasq": "dnsmasq-base",
    "dhclient": "isc-dhcp-client",
    "wireguard-go": "wireguard-go",
    "wg": "wireguard-tools",
    "turnserver": "coturn",
    "chronyd": "chrony",
    "lighttpd": "lighttpd",
    "sysctl": "procps",
    # The subject's sandbox (netns.sandbox).
    "bwrap": "bubblewrap",
    "nsenter": "util-linux",
    "setpriv": "util-linux",
}


OPENVPN_TOOLS = {"openvpn": "openvpn", "openssl": "openssl"}
SBIN = ("/usr/sbin", "/sbin")


def check_tools(extra: dict[str, str] | None = None) -> None:
    """Fail with one line naming the first missing tool and its Debian package.

    A tool counts only if it is on the PATH: that is where the lab's commands
    look for it (one elsewhere would fail later, as an exec error).
    """
    for tool, package in (REQUIRED_TOOLS | (extra or {})).items():
        if shutil.which(tool) is not None:
            continue
        message = f"`{tool}` not found: install the Debian package {package}"
        # `su` without `-` leaves the sbin folders off root's PATH.
        elsewhere = [d for d in SBIN if Path(d, tool).exists()]
        if elsewhere:
            message += f" (or put {elsewhere[0]}, where it is, on the PATH)"
        raise LabError(message)


def _answers(web4: str = WEB.address4, web6: str = WEB.address6) -> list[str]:
    # Every resolver answers the lab's names itself: none forwards, so a query
    # in a resolver's log came from whoever sent it, never from another resolver.
    return [
        "--no-resolv",
        "--no-hosts",
        f"--address=/{DOMAIN}/{web4}",
        f"--address=/{DOMAIN}/{web6}",
    ]


def _dnsmasq_base(workdir: Path, name: str, log: Path) -> list[str]:
    return [
        "dnsmasq",
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        f"--pid-file={workdir / (name + '.pid')}",
        "--bind-interfaces",
        "--log-queries=extra",
        f"--log-facility={log}",
        "--user=root",
        "--group=root",
    ]


def start_lan_dnsmasq(
    router: Host,
    lan: Lan,
    workdir: Path,
    *,
    ipv6: bool,
    options_file: Path,
    spoofed: dict[str, str] | None = None,
) -> Daemon:
    """The LAN's DHCP server, router advertisements (if `ipv6`) and the ISP's resolver.

    DHCP options in `options_file` are re-read on SIGHUP (how option 121 is pushed).
    `spoofed` names the resolver answers with an address of the LAN's choosing.
    """
    name = f"dnsmasq-{lan.name}"
    log = router.logdir / f"router-{name}.log"
    argv = [
        *_dnsmasq_base(workdir, name, log),
        f"--interface={lan.bridge}",
        # Two LANs' servers share the router: neither may claim its loopback.
        "--except-interface=lo",
        f"--listen-address={lan.gateway4}",
        f"--dhcp-range={lan.pool[0]},{lan.pool[1]},{ip_network(lan.prefix4).netmask},1h",
        f"--dhcp-leasefile={workdir / (name + '.leases')}",
        f"--dhcp-optsfile={options_file}",
        "--dhcp-authoritative",
        # Skip the ICMP probe of each address before offering it: seconds per lease, and
        # the lab's pool has no other hosts.
        "--no-ping",
        "--log-dhcp",
        # More specific than the lab's domain, so these win over its answers.
        *[f"--address=/{name}/{address}" for name, address in (spoofed or {}).items()],
        *_answers(),
    ]
    if ipv6:
        argv += [
            f"--listen-address={lan.gateway6}",
            "--enable-ra",
            f"--dhcp-range=::,constructor:{lan.bridge},ra-only,64,1h",
            "--ra-param=" + f"{lan.bridge},3,1800",
        ]
    daemon = Daemon(name, router.argv(argv), router.cgroup, log)
    daemon.ready_when = ("started, version", "DHCP, IP range")
    if ipv6:
        daemon.ready_when += ("router advertisement on",)
    return daemon


def start_resolver(host: Host, workdir: Path, name: str, addresses: list[str]) -> Daemon:
    """A resolver that answers the lab's names and logs every query it receives."""
    log = host.logdir / f"{host.role}-{name}.log"
    argv = [
        *_dnsmasq_base(workdir, f"{host.role}-{name}", log),
        *[f"--listen-address={a}" for a in addresses],
        *_answers(),
    ]
    daemon = Daemon(f"{host.role}/{name}", host.argv(argv), host.cgroup, log)
    daemon.ready_when = ("started, version",)
    return daemon


def start_wireguard_go(host: Host, ifname: str) -> Daemon:
    """wireguard-go in the foreground; ready when its control socket listens."""
    argv = ["env", "LOG_LEVEL=verbose", "wireguard-go", "-f", ifname]
    daemon = host.spawn(f"wireguard-go-{ifname}", argv)
    daemon.wait_for_log(r"UAPI listener started")
    return daemon


def start_openvpn(host: Host, config: Path) -> Daemon:
    """An OpenVPN server in the foreground; ready when it says its initialisation is done."""
    daemon = host.spawn(f"openvpn-{host.role}", ["openvpn", "--config", str(config)])
    daemon.wait_for_log(r"Initialization Sequence Completed")
    return daemon


def start_stun(host: Host, workdir: Path, addresses: list[str], port: int) -> Daemon:
    """coturn as a plain STUN server (no TURN, no auth), logging every binding request."""
    argv = [
        "turnserver",
        # The machine's /etc/turnserver.conf must not apply: an empty config, our own files.
        "-c",
        "/dev/null",
        f"--db={workdir / f'turndb-{host.role}'}",
        "--stun-only",
        "--no-cli",
        "--no-tls",
        "--no-dtls",
        "--no-auth",
        "--verbose",
        "--simple-log",
        "--log-file=stdout",
        f"--pidfile={workdir / f'turnserver-{host.role}.pid'}",
        f"--listening-port={port}",
        *[f"--listening-ip={a}" for a in addresses],
    ]
    daemon = host.spawn("stun", argv)
    daemon.ready_when = ("Total General servers",)
    return daemon


def start_ntp(host: Host, workdir: Path, addresses: list[str]) -> Daemon:
    """chronyd serving time from its local clock; -x: never touch the machine's clock."""
    conf = workdir / "chrony.conf"
    conf.write_text(
        "\n".join(
            [
                *[f"bindaddress {a}" for a in addresses],
                "allow all",
                "local stratum 8",
                "cmdport 0",
                f"pidfile {workdir / 'chronyd.pid'}",
                f"driftfile {workdir / 'chrony.drift'}",
                "",
            ]
        )
    )
    daemon = host.spawn("ntp", ["chronyd", "-d", "-x", "-f", str(conf)])
    daemon.ready_when = ("chronyd version",)
    return daemon


def start_web(host: Host, workdir: Path) -> Daemon:
    """lighttpd serving one page on every address of the web host (v4 and v6)."""
    root = workdir / "www"
    root.mkdir(exist_ok=True)
    (root / "index.html").write_text("leakcert web host\n")
    conf = workdir / "lighttpd.conf"
    # No server.errorlog: lighttpd logs to stderr, which is the daemon's log.
    conf.write_text(
        f'server.document-root = "{root}"\n'
        "server.port = 80\n"
        'server.bind = "0.0.0.0"\n'
        '$SERVER["socket"] == "[::]:80" { }\n'
        'index-file.names = ( "index.html" )\n'
    )
    daemon = host.spawn("web", ["lighttpd", "-D", "-f", str(conf)])
    # Logged once its sockets are bound, before it serves.
    daemon.ready_when = ("server started",)
    return daemon
