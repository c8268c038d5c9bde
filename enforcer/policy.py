"""The kill-switch policy: what may leave the host, with no firewall knowledge.

A Policy is a frozen, validated value. Renderers (nftables.py, pf.py, wfp.py)
turn it into rules; nothing here knows how. Every validation error is a
PolicyError whose message is one line, fit for `leakcert-enforcer: <message>`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MODES = ("always-on", "session")
PROTOCOLS = ("udp", "tcp")
# Linux IFNAMSIZ is 16 including the NUL, and the kernel refuses "/", ":" and
# spaces. The set here is narrower on purpose: the name is pasted into an nft
# script inside quotes.
_IFNAME = re.compile(r"[A-Za-z0-9_.@+-]{1,15}")


class PolicyError(ValueError):
    """The policy is invalid or would lock the tunnel out (one-line message)."""


def parse_address(text: str, what: str) -> IPAddress:
    """One IP address, or a PolicyError naming what it was meant to be."""
    try:
        return ipaddress.ip_address(str(text).strip())
    except ValueError:
        raise PolicyError(f"{what} {text!r} is not a valid IP address") from None


def _check_ifname(name: str) -> str:
    if not isinstance(name, str) or not _IFNAME.fullmatch(name) or name in (".", ".."):
        raise PolicyError(f"tunnel interface {name!r} is not a valid interface name")
    if name == "lo":
        # Allowing "lo" as the tunnel would make every rule about the tunnel moot.
        raise PolicyError("tunnel interface cannot be 'lo'")
    return name


@dataclass(frozen=True)
class Endpoint:
    """The VPN server as the uplink sees it: exactly one address, protocol and port."""

    address: IPAddress
    port: int
    protocol: str = "udp"

    def __post_init__(self) -> None:
        if not isinstance(self.address, ipaddress.IPv4Address | ipaddress.IPv6Address):
            object.__setattr__(self, "address", parse_address(self.address, "endpoint address"))
        addr = self.address
        if addr.is_unspecified or addr.is_loopback or addr.is_multicast:
            raise PolicyError(f"endpoint address {addr} is not a unicast host address")
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise PolicyError(f"endpoint port {self.port!r} is not a number")
        if not 1 <= self.port <= 65535:
            raise PolicyError(f"endpoint port {self.port} is out of range 1-65535")
        if self.protocol not in PROTOCOLS:
            raise PolicyError(f"endpoint protocol {self.protocol!r} is not udp or tcp")

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """`ADDR:PORT[/PROTO]`, IPv6 in brackets: `[2001:db8::1]:51820/udp`."""
        spec, _, proto = str(text).strip().partition("/")
        host, sep, port_text = spec.rpartition(":")
        if not sep or not host or not port_text:
            raise PolicyError(f"endpoint {text!r} is not ADDR:PORT[/udp|tcp]")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        elif ":" in host:
            raise PolicyError(f"endpoint {text!r} is not ADDR:PORT: put IPv6 in brackets")
        try:
            port = int(port_text)
        except ValueError:
            raise PolicyError(f"endpoint port {port_text!r} is not a number") from None
        return cls(parse_address(host, "endpoint address"), port, (proto or "udp").lower())

    def __str__(self) -> str:
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{host}:{self.port}/{self.protocol}"


@dataclass(frozen=True)
class Policy:
    """What the kill switch lets out. Lists are normalised to sorted, de-duplicated tuples."""

    tunnels: tuple[str, ...]
    endpoints: tuple[Endpoint, ...]
    resolvers: tuple[IPAddress, ...] = ()
    tunnel_ipv6: bool = False
    lan_access: bool = False
    mode: str = "always-on"
    # The firewall mark the tunnel's own socket carries (wg-quick's FwMark): with
    # one, only the tunnel's process may reach the endpoint (Cure53 MUL-02-002);
    # 0: any process may.
    endpoint_mark: int = 0

    def __post_init__(self) -> None:
        tunnels = tuple(sorted({_check_ifname(t) for t in _as_list(self.tunnels, "tunnels")}))
        if not tunnels:
            raise PolicyError("no tunnel interface: the tunnel would be locked out")
        endpoints = tuple(
            sorted(
                {
                    e if isinstance(e, Endpoint) else Endpoint.parse(e)
                    for e in _as_list(self.endpoints, "endpoints")
                },
                key=lambda e: (e.address.version, e.address, e.protocol, e.port),
            )
        )
        if not endpoints:
            raise PolicyError("no VPN endpoint: the tunnel could never come up")
        resolvers = tuple(
            sorted(
                {parse_address(r, "resolver") for r in _as_list(self.resolvers, "resolvers")},
                key=lambda a: (a.version, a),
            )
        )
        for r in resolvers:
            if r.is_unspecified or r.is_multicast:
                raise PolicyError(f"resolver {r} is not a unicast address")
            if r.version == 6 and not self.tunnel_ipv6:
                # The resolver is reached through the tunnel, where IPv6 is then blocked.
                raise PolicyError(f"resolver {r} is IPv6 but tunnel_ipv6 is off")
        for flag in ("tunnel_ipv6", "lan_access"):
            if not isinstance(getattr(self, flag), bool):
                raise PolicyError(f"{flag} must be true or false")
        mark = self.endpoint_mark
        if isinstance(mark, bool) or not isinstance(mark, int) or not 0 <= mark <= 0xFFFFFFFF:
            raise PolicyError(f"endpoint_mark {mark!r} is not a 32-bit mark")
        if self.mode not in MODES:
            raise PolicyError(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        object.__setattr__(self, "tunnels", tunnels)
        object.__setattr__(self, "endpoints", endpoints)
        object.__setattr__(self, "resolvers", resolvers)

    def summary(self) -> str:
        """A few human lines, for `status`."""
        return "\n".join(
            [
                f"mode: {self.mode}",
                f"tunnel: {', '.join(self.tunnels)} (IPv6 {'on' if self.tunnel_ipv6 else 'off'})",
                f"endpoint: {', '.join(map(str, self.endpoints))}",
                f"resolver: {', '.join(map(str, self.resolvers)) or 'none (DNS blocked)'}",
                f"LAN access: {'on' if self.lan_access else 'off'}",
                "endpoint reached by: "
                + (f"mark {self.endpoint_mark:#x} only" if self.endpoint_mark else "any process"),
            ]
        )


def _as_list(value: Any, what: str) -> list[Any]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list | tuple | set | frozenset):
        raise PolicyError(f"{what} must be a list")
    return list(value)


_KEYS = {"tunnels", "endpoints", "resolvers", "tunnel_ipv6", "lan_access", "mode", "endpoint_mark"}


def from_mapping(data: dict[str, Any], source: str = "mapping") -> Policy:
    """A Policy from a TOML-shaped mapping (see README for the file format)."""
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise PolicyError(f"{source}: unknown key {unknown[0]!r}")
    endpoints = []
    for item in _as_list(data.get("endpoints", []), "endpoints"):
        if isinstance(item, dict):
            extra = sorted(set(item) - {"address", "port", "protocol"})
            if extra:
                raise PolicyError(f"{source}: unknown endpoint key {extra[0]!r}")
            if "address" not in item or "port" not in item:
                raise PolicyError(f"{source}: an endpoint needs address and port")
            endpoints.append(Endpoint(item["address"], item["port"], item.get("protocol", "udp")))
        else:
            endpoints.append(Endpoint.parse(item))
    return Policy(
        tunnels=tuple(_as_list(data.get("tunnels", []), "tunnels")),
        endpoints=tuple(endpoints),
        resolvers=tuple(_as_list(data.get("resolvers", []), "resolvers")),
        tunnel_ipv6=data.get("tunnel_ipv6", False),
        lan_access=data.get("lan_access", False),
        mode=data.get("mode", "always-on"),
        endpoint_mark=data.get("endpoint_mark", 0),
    )


def load(path: str | Path) -> Policy:
    """A Policy from a TOML file."""
    # Imported here: only --policy reads TOML, and the hooks start the enforcer often.
    import tomllib

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as err:
        raise PolicyError(f"cannot read policy {path}: {err.strerror or err}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise PolicyError(f"policy {path} is not valid TOML: {err}") from None
    return from_mapping(data, source=str(path))


def to_toml(policy: Policy) -> str:
    """The policy as a TOML file that `load` reads back to an equal Policy."""
    lines = [
        f'mode = "{policy.mode}"',
        f"tunnel_ipv6 = {str(policy.tunnel_ipv6).lower()}",
        f"lan_access = {str(policy.lan_access).lower()}",
        f"endpoint_mark = {policy.endpoint_mark}",
        "tunnels = [" + ", ".join(f'"{t}"' for t in policy.tunnels) + "]",
        "resolvers = [" + ", ".join(f'"{r}"' for r in policy.resolvers) + "]",
    ]
    for ep in policy.endpoints:
        lines += [
            "",
            "[[endpoints]]",
            f'address = "{ep.address}"',
            f"port = {ep.port}",
            f'protocol = "{ep.protocol}"',
        ]
    return "\n".join(lines) + "\n"
