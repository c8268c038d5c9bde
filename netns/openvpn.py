"""The lab's second tunnel kind: an OpenVPN server with its own PKI, and the client's `.ovpn`.

The certificates are made per lab with openssl (an ECDSA P-256 CA, a server
and a client certificate with the key usages `remote-cert-tls` checks). The
server gives the client the same tunnel addresses as WireGuard does, so the
KS_* facts and the oracle do not care which kind a case runs.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from netns.errors import LabError
from netns.topology import (
    CLIENT_TUNNEL4,
    CLIENT_TUNNEL6,
    OPENVPN_PORT,
    TUNNEL4,
    TUNNEL6,
    VPN_ENDPOINT,
)
from netns.tunnel import Tunnel

CLIENT_CN = "leakcert-client"
EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
USAGE = {
    "server": "keyUsage=digitalSignature,keyAgreement\nextendedKeyUsage=serverAuth\n",
    "client": "keyUsage=digitalSignature,keyAgreement\nextendedKeyUsage=clientAuth\n",
}


@dataclass(frozen=True)
class Pki:
    folder: Path

    def path(self, name: str) -> Path:
        return self.folder / name


def _openssl(*args: str | Path, cwd: Path) -> None:
    try:
        subprocess.run(["openssl", *map(str, args)], cwd=cwd, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise LabError(f"openssl failed: {exc} {detail.decode(errors='replace')[-200:]}") from None


def make_pki(folder: Path) -> Pki:
    """A CA, a server and a client certificate, valid for two days."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", *EC, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=leakcert-lab-ca", cwd=folder)  # fmt: skip
    for role, cn in (("server", "leakcert-server"), ("client", CLIENT_CN)):
        (folder / f"{role}.ext").write_text(USAGE[role])
        _openssl("req", *EC, "-keyout", f"{role}.key", "-out", f"{role}.csr",
                 "-subj", f"/CN={cn}", cwd=folder)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{role}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{role}.crt", "-days", "2",
                 "-extfile", f"{role}.ext", cwd=folder)  # fmt: skip
    for key in folder.glob("*.key"):
        key.chmod(0o600)
    return Pki(folder)


def write_server_config(
    folder: Path, interface: str, pki: Pki, *, ipv6: bool, refuse_while: Path
) -> Path:
    """The server's config: UDP on the endpoint, the client pinned to the lab's tunnel address.

    While the file `refuse_while` exists, the server rejects every client's
    certificate (its verify script fails): a refused client's TLS handshake fails.
    """
    ccd = folder / "ccd"
    ccd.mkdir(exist_ok=True)
    mask = "255.255.255.0"
    pushed = f"ifconfig-push {CLIENT_TUNNEL4} {mask}\n"
    if ipv6:
        pushed += f"ifconfig-ipv6-push {CLIENT_TUNNEL6}/{TUNNEL6.split('/')[1]}\n"
    (ccd / CLIENT_CN).write_text(pushed)
    lines = [
        f"dev {interface}",
        "dev-type tun",
        "proto udp",
        f"local {VPN_ENDPOINT}",
        f"port {OPENVPN_PORT}",
        "topology subnet",
        f"server {TUNNEL4.split('/')[0]} {mask}",
        f"client-config-dir {ccd}",
        f"ca {pki.path('ca.crt')}",
        f"cert {pki.path('server.crt')}",
        f"key {pki.path('server.key')}",
        "dh none",
        "keepalive 10 60",
        "verb 3",
    ]
    if ipv6:
        lines.append(f"server-ipv6 {TUNNEL6}")
    verify = folder / "tls-verify.sh"
    verify.write_text(f"#!/bin/sh\n[ ! -e {refuse_while} ]\n")
    verify.chmod(0o755)
    lines += ["script-security 2", f"tls-verify {verify}"]
    config = folder / "server.conf"
    config.write_text("\n".join(lines) + "\n")
    return config


def write_openvpn_client(
    folder: Path, interface: str, pki: Pki, *, ipv6: bool, endpoint: str = VPN_ENDPOINT
) -> Tunnel:
    """A complete `.ovpn` named `<interface>.ovpn`: everything through the tunnel, no DNS."""
    inline = "".join(
        f"<{tag}>\n{pki.path(name).read_text().strip()}\n</{tag}>\n"
        for tag, name in (("ca", "ca.crt"), ("cert", "client.crt"), ("key", "client.key"))
    )
    config = folder / f"{interface}.ovpn"
    config.write_text(
        "client\n"
        f"dev {interface}\n"
        "dev-type tun\n"
        "proto udp\n"
        f"remote {endpoint} {OPENVPN_PORT}\n"
        "nobind\n"
        "remote-cert-tls server\n"
        f"redirect-gateway def1{' ipv6' if ipv6 else ''}\n"
        "verb 3\n" + inline
    )
    config.chmod(0o600)
    return Tunnel.for_lab("openvpn", interface, config, OPENVPN_PORT, ipv6=ipv6, endpoint=endpoint)
