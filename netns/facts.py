"""A host's facts, read from its kernel: its interfaces and routes.

In the manner of testinfra's modules (`host.interface("uplink").addresses()`),
so that the same questions can be asked of any host of the lab, and of a
guest that is not a namespace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netns.host import Host

_IFA_F_TENTATIVE = 0x40
IFF_LOWER_UP = 1 << 16  # the link has carrier (linux/if.h)


class Interface:
    """One network interface of a host, by name; every read asks the kernel again."""

    def __init__(self, host: Host, name: str) -> None:
        self.host = host
        self.name = name

    def _link(self):
        with self.host.iproute() as ipr:
            links = ipr.get_links(ifname=self.name)
        return links[0] if links else None

    @property
    def exists(self) -> bool:
        return self._link() is not None

    @property
    def mac(self) -> str | None:
        link = self._link()
        return link.get_attr("IFLA_ADDRESS") if link is not None else None

    @property
    def operstate(self) -> str:
        """The kernel's operational state (UP, DOWN, ...), or ABSENT."""
        link = self._link()
        return link.get_attr("IFLA_OPERSTATE") if link is not None else "ABSENT"

    @property
    def carrier(self) -> bool:
        link = self._link()
        return link is not None and bool(link["flags"] & IFF_LOWER_UP)

    def addresses(self, family: int = 2) -> list[str]:
        """Its usable addresses (2 = IPv4, 10 = IPv6; global scope).

        An IPv6 address still in duplicate address detection cannot be used yet
        and is left out.
        """
        with self.host.iproute() as ipr:
            indexes = ipr.link_lookup(ifname=self.name)
            if not indexes:
                return []
            return [
                a.get_attr("IFA_ADDRESS")
                for a in ipr.get_addr(index=indexes[0], family=family)
                if a["scope"] == 0 and not (a.get_attr("IFA_FLAGS") or 0) & _IFA_F_TENTATIVE
            ]


def routes(host: Host, family: int = 2, table: int = 254) -> list[tuple[str, str | None]]:
    """(destination/prefix, gateway) of a host's routes in `table` (main)."""
    with host.iproute() as ipr:
        found = ipr.get_routes(family=family, table=table)
    default = "0.0.0.0" if family == 2 else "::"
    return [
        (f"{r.get_attr('RTA_DST') or default}/{r['dst_len']}", r.get_attr("RTA_GATEWAY"))
        for r in found
    ]
