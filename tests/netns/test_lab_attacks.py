"""The lab's side of the attacks since the seed (`netns.lab_attacks`) does what it says,
checked on the real namespaces: the hostile LAN, the spoofed server, the refusing
server, the other server, the container, the stopped service."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from netns import topology
from netns.lab import Lab
from tests.netns.support import leftovers, tunnel_up

pytestmark = pytest.mark.root


def in_net(address: str, prefix: str) -> bool:
    return ipaddress.ip_address(address) in ipaddress.ip_network(prefix)


def test_localnet_puts_internet_hosts_on_link_and_carries_them(tmp_path: Path) -> None:
    with Lab(tmp_path, lan="localnet", ipv6=True) as lab:
        address = lab.client_addresses()[0]
        assert in_net(address, topology.LOCALNET.prefix4)
        assert in_net(topology.NTP.address4, topology.LOCALNET.prefix4)
        routes = dict(lab.client_routes())
        assert topology.LOCALNET.prefix4 in routes  # on-link, beside any tunnel
        assert any(in_net(a, topology.LOCALNET.prefix6) for a in lab.client_addresses(10))
        # The attacker's router answers for the internet hosts and carries the traffic on.
        ntp = lab.client.run("ping -c1 -W2 %s", topology.NTP.address4)
        assert ntp.ok
        neighbour = lab.client.run("ip neigh show %s", topology.NTP.address4).stdout
        assert "lladdr" in neighbour, neighbour
        web6 = lab.client.run("ip -6 route get %s", topology.WEB.address6).stdout
        assert "via" not in web6, web6  # on-link: no gateway


def test_spoofed_server_is_the_lans_answer_and_the_tunnel_still_comes_up(tmp_path: Path) -> None:
    with Lab(tmp_path, spoofed_server=True) as lab:
        assert lab.tunnel.endpoint_ip == topology.SPOOFED_ENDPOINT
        assert f"Endpoint = {topology.SPOOFED_ENDPOINT}:" in lab.tunnel.config.read_text()
        tunnel_up(lab)
        lab.client.run("ping -c1 -W3 -I %s %s", lab.tunnel.interface, topology.VPN_RESOLVER)
        endpoints = {e.address for e in lab.wire_facts().endpoints}
        assert topology.SPOOFED_ENDPOINT in endpoints


def test_a_refused_client_gets_no_answer_and_is_accepted_again(lab: Lab) -> None:
    lab.refuse_client()
    tunnel_up(lab)
    ping = "ping -c1 -W2 -I %s %s"
    assert not lab.client.run(ping, lab.tunnel.interface, topology.VPN_RESOLVER, check=False).ok
    lab.refuse_client(False)
    lab.client.run("ping -c1 -w6 -I %s %s", lab.tunnel.interface, topology.VPN_RESOLVER)


def test_the_other_server_carries_the_same_tunnel(lab: Lab) -> None:
    first = lab.tunnel
    other = lab.switch_server()
    assert other.endpoint_ip == topology.OTHER_ENDPOINT and other.interface == first.interface
    assert other.config.parent.parent == first.config.parent
    tunnel_up(lab)
    lab.client.run("ping -c1 -W3 -I %s %s", lab.tunnel.interface, topology.VPN_RESOLVER)
    assert {e.address for e in lab.wire_facts().endpoints} == {
        topology.VPN_ENDPOINT,
        topology.OTHER_ENDPOINT,
    }


def test_the_container_is_masqueraded_by_the_client_and_cleaned_up(tmp_path: Path) -> None:
    with Lab(tmp_path, guest=True) as lab:
        lab_id = lab.lab_id
        web = lab.guest_host.run("curl -sf -m 5 http://%s/", topology.WEB.address4).stdout
        assert "leakcert web host" in web
        nat = lab.client.run("nft list table ip guests").stdout
        assert "masquerade" in nat
    assert not leftovers(lab_id, tmp_path / "nothing"), leftovers(lab_id)


def test_stopping_the_subject_is_sigterm_first(lab: Lab) -> None:
    trap = "trap 'echo stopped > %s; exit 0' TERM; echo ready; while :; do sleep 0.05; done"
    marker = lab.run_dir / "stopped"
    service = lab.client.spawn("service", ["sh", "-c", trap % marker], cgroup=lab.subject_cgroup)
    service.wait_for_log("ready")
    assert lab.stop_subject()
    assert marker.read_text() == "stopped\n"
    assert not lab.subject_cgroup.pids()
