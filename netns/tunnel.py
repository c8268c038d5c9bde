"""The VPN tunnel the lab hands to a subject: keys, addresses and a wg-quick file."""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path

from netns.errors import LabError
from netns.topology import (
    CLIENT_TUNNEL4,
    CLIENT_TUNNEL6,
    TUNNEL4,
    TUNNEL6,
    VPN_ENDPOINT,
    VPN_RESOLVER,
    WIREGUARD_PORT,
)


@dataclass(frozen=True)
class KeyPair:
    private: str
    public: str


@functools.cache
def wireguard_keys() -> tuple[KeyPair, KeyPair]:
    """The VPN server's and the client's key pairs, made once per process: each lab's
    tunnel is its own all the same (its namespaces, its interfaces), and making them
    for each lab put four processes on its build's path."""
    return _keypair(), _keypair()


def _keypair() -> KeyPair:
    """A fresh key pair from `wg genkey` / `wg pubkey`."""
    try:
        private = subprocess.run(
            ["wg", "genkey"], capture_output=True, text=True, check=True
        ).stdout.strip()
        public = subprocess.run(
            ["wg", "pubkey"], input=private, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise LabError(f"cannot make WireGuard keys with `wg`: {exc}") from None
    return KeyPair(private, public)


@dataclass(frozen=True)
class Tunnel:
    """What a subject is told about its tunnel (the KS_* facts of the subject contract)."""

    kind: str  # "wireguard" or "openvpn"
    interface: str
    config: Path
    endpoint_ip: str
    endpoint_port: int
    endpoint_protocol: str
    vpn_dns: str
    address4: str
    address6: str  # "" when the tunnel carries no IPv6

    @classmethod
    def for_lab(
        cls,
        kind: str,
        interface: str,
        config: Path,
        port: int,
        *,
        ipv6: bool,
        endpoint: str = VPN_ENDPOINT,
    ) -> Tunnel:
        """The facts of a tunnel to the lab's VPN server: its endpoint, resolver and addresses.

        `endpoint` is the address the client knows the server by (a hostile LAN's
        resolver may have given it another than the server's own).
        """
        return cls(
            kind=kind,
            interface=interface,
            config=config,
            endpoint_ip=endpoint,
            endpoint_port=port,
            endpoint_protocol="udp",
            vpn_dns=VPN_RESOLVER,
            address4=f"{CLIENT_TUNNEL4}/{TUNNEL4.split('/')[1]}",
            address6=f"{CLIENT_TUNNEL6}/{TUNNEL6.split('/')[1]}" if ipv6 else "",
        )


def write_wireguard_client(
    folder: Path,
    interface: str,
    client: KeyPair,
    server_public: str,
    *,
    ipv6: bool,
    endpoint: str = VPN_ENDPOINT,
) -> Tunnel:
    """A complete wg-quick file `<interface>.conf`, without a DNS line, and its facts."""
    config = folder / f"{interface}.conf"
    tunnel = Tunnel.for_lab(
        "wireguard", interface, config, WIREGUARD_PORT, ipv6=ipv6, endpoint=endpoint
    )
    addresses = ", ".join(a for a in (tunnel.address4, tunnel.address6) if a)
    allowed = "0.0.0.0/0, ::/0" if ipv6 else "0.0.0.0/0"
    config.write_text(
        "[Interface]\n"
        f"PrivateKey = {client.private}\n"
        f"Address = {addresses}\n"
        "\n"
        "[Peer]\n"
        f"PublicKey = {server_public}\n"
        f"Endpoint = {endpoint}:{WIREGUARD_PORT}\n"
        f"AllowedIPs = {allowed}\n"
        "PersistentKeepalive = 25\n"
    )
    config.chmod(0o600)
    return tunnel
