"""The client's kernel network settings: a fresh desktop's, whatever the machine's are.

A new network namespace copies the machine's current IPv4 settings (rp_filter,
arp_ignore, src_valid_mark, forwarding, ...) and resets the IPv6 ones, so a
verdict could depend on how the machine running the suite is configured. The
client is pinned instead, at build and at every reboot, to what a fresh
Debian 12 desktop runs with: the kernel's own defaults. Debian's systemd
leaves out upstream's 50-default.conf (which sets rp_filter = 2 on Fedora and
Arch), and procps' /etc/sysctl.conf has its rp_filter lines commented out, so
Debian keeps rp_filter at 0; Ubuntu's 10-network-security.conf (2) is not Debian's.
"""

from __future__ import annotations

from collections.abc import Iterable

from netns.host import Host

# key: (all, default); a link takes `default` when it is created.
IPV4 = {
    "forwarding": ("0", "0"),
    "rp_filter": ("0", "0"),
    "src_valid_mark": ("0", "0"),
    "accept_local": ("0", "0"),
    "route_localnet": ("0", "0"),
    "accept_redirects": ("1", "1"),
    "secure_redirects": ("1", "1"),
    "send_redirects": ("1", "1"),
    "accept_source_route": ("0", "1"),
    "arp_filter": ("0", "0"),
    "arp_ignore": ("0", "0"),
    "arp_announce": ("0", "0"),
    "proxy_arp": ("0", "0"),
}
IPV6 = {
    "disable_ipv6": ("0", "0"),
    "forwarding": ("0", "0"),
    "accept_ra": ("1", "1"),
    "autoconf": ("1", "1"),
    "use_tempaddr": ("0", "0"),
    "accept_redirects": ("1", "1"),
    "accept_source_route": ("0", "0"),
}


def desktop(links: Iterable[str]) -> dict[str, str]:
    """Every pinned key with its value, for `all`, `default` and each of `links`.

    `all` comes first: writing it also rewrites every link's value. A link that
    outlives a reboot (the uplink) must be given: a real one would be created
    anew, with the defaults.
    """
    settings: dict[str, str] = {}
    for family, table in (("ipv4", IPV4), ("ipv6", IPV6)):
        for key, (all_value, default) in table.items():
            settings[f"net.{family}.conf.all.{key}"] = all_value
            settings[f"net.{family}.conf.default.{key}"] = default
    for link in links:
        for family, table in (("ipv4", IPV4), ("ipv6", IPV6)):
            for key, (_, default) in table.items():
                settings[f"net.{family}.conf.{link}.{key}"] = default
    return settings


def pin(host: Host, links: Iterable[str]) -> None:
    """Set `host`'s settings (and its `links`') to the desktop's."""
    host.sysctl(desktop(links))


def read(host: Host, links: Iterable[str]) -> dict[str, str]:
    """The pinned keys' current values, read back from the kernel (missing links left out)."""
    keys = list(desktop(links))
    # -e: a link a subject deleted is no error; its keys are just absent.
    out = host.run("sysctl -e " + " ".join(keys)).stdout
    values = {}
    for line in out.splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            values[key.strip()] = value.strip()
    return values
