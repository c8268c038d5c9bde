"""The lab's primitives do what they say, checked on the real namespaces."""

from __future__ import annotations

import ipaddress
import os
import re
import signal
from pathlib import Path

import pytest

from netns import topology
from netns.capture import read_frames
from netns.lab import UPLINK, Lab
from netns.wait import until
from tests.netns.support import tunnel_up

pytestmark = pytest.mark.root


def in_net(address: str, prefix: str) -> bool:
    return ipaddress.ip_address(address) in ipaddress.ip_network(prefix)


def stun_mapped_address(lab: Lab) -> str:
    # turnutils_stunclient prints the mapped address at once, then waits for
    # RFC 5780 answers that never come: its first answer is all we need.
    out = lab.client.run(
        "timeout 2 turnutils_stunclient %s", topology.STUN.address4, check=False
    ).stdout
    match = re.search(r"UDP reflexive addr: ([0-9.]+):", out)
    assert match, out
    return match.group(1)


def test_client_is_configured_by_dhcp(lab: Lab) -> None:
    addresses = lab.client_addresses()
    assert len(addresses) == 1 and in_net(addresses[0], topology.LAN1.prefix4)
    assert ("0.0.0.0/0", topology.LAN1.gateway4) in lab.client_routes()
    resolv = lab.client.run("cat /etc/resolv.conf").stdout
    assert f"nameserver {topology.LAN1.gateway4}" in resolv
    # The lab's resolv.conf is the client's own, not the machine's.
    assert resolv != Path("/etc/resolv.conf").read_text()


def test_internet_hosts_answer_without_tunnel(lab: Lab) -> None:
    web = lab.client.run("curl -sf -m 5 http://%s/", topology.WEB.address4).stdout
    assert "leakcert web host" in web
    # The web host serves IPv6 too (what the tunnel carries); asked from its own host here.
    web6 = lab.net.run("curl -gsf -m 5 http://[%s]/", topology.WEB.address6).stdout
    assert "leakcert web host" in web6
    dns = lab.client.run("getent ahostsv4 %s", topology.WEB_NAME).stdout
    assert topology.WEB.address4 in dns
    direct = lab.client.run("dig +short @%s %s", topology.RESOLVER.address4, topology.WEB_NAME)
    assert direct.stdout.strip() == topology.WEB.address4
    assert "query[A] web.leakcert.test" in lab.resolver.output()
    lab.client.run("ping -c1 -W2 %s", topology.NTP.address4)


def test_stun_server_reports_the_routers_public_address(lab: Lab) -> None:
    assert stun_mapped_address(lab) == topology.ROUTER_WAN4


def test_tunnel_carries_traffic_to_net_and_back(lab: Lab) -> None:
    tunnel_up(lab)
    web = lab.client.run("curl -sf -m 5 http://%s/", topology.WEB.address4).stdout
    assert "leakcert web host" in web
    # The web host serves IPv6 too (what the tunnel carries); asked from its own host here.
    web6 = lab.net.run("curl -gsf -m 5 http://[%s]/", topology.WEB.address6).stdout
    assert "leakcert web host" in web6
    web6 = lab.client.run("curl -sf -m 5 http://[%s]/", topology.WEB.address6).stdout
    assert "leakcert web host" in web6
    assert stun_mapped_address(lab) == topology.CLIENT_TUNNEL4
    vpn_dns = lab.client.run("dig +short @%s %s", topology.VPN_RESOLVER, topology.WEB_NAME)
    assert vpn_dns.stdout.strip() == topology.WEB.address4
    handshake = lab.vpn.run("wg show %s latest-handshakes", lab.names.server_wg).stdout
    assert handshake.split()[-1] != "0"


def test_ipv4_only_tunnel_config(tmp_path) -> None:
    with Lab(tmp_path, tunnel_ipv6=False) as lab:
        config = lab.tunnel.config.read_text()
        assert "AllowedIPs = 0.0.0.0/0\n" in config and "::" not in config
        assert "DNS" not in config
        assert lab.tunnel.config.name == f"{lab.tunnel.interface}.conf"
        assert lab.tunnel.address6 == ""


def test_option_121_routes_reach_the_client_on_renew(lab: Lab) -> None:
    pushed = ["203.0.113.0/24", "0.0.0.0/1", "128.0.0.0/1"]
    assert not set(pushed) & {dst for dst, _ in lab.client_routes()}
    lab.push_option121(pushed)
    routes = dict(lab.client_routes())
    for prefix in pushed:
        assert routes.get(prefix) == topology.LAN1.gateway4, routes


def test_ipv6_switched_on_and_off(lab: Lab) -> None:
    assert not lab.client_addresses(10)
    lab.set_ipv6(True)
    address = lab.wait_client_ipv6()
    assert in_net(address, topology.LAN1.prefix6)
    assert "::/0" in {dst for dst, _ in lab.client_routes(10)}
    lab.client.run("curl -sf -m 5 http://[%s]/", topology.WEB.address6)
    lab.set_ipv6(False)
    # The router no longer answers a router solicitation.
    solicit = lab.client.run("rdisc6 -1 -w 500 -r 2 %s", UPLINK, check=False)
    assert solicit.rc != 0 and "Prefix" not in solicit.stdout


def test_lab_with_ipv6_from_the_start(tmp_path) -> None:
    with Lab(tmp_path, ipv6=True) as lab:
        assert any(in_net(a, topology.LAN1.prefix6) for a in lab.client_addresses(10))


def test_carrier_drop_and_wifi_reconnect(lab: Lab) -> None:
    lab.carrier(False)
    assert not lab.client_has_carrier()
    # Without carrier nothing reaches the router.
    assert not lab.client.run("ping -c1 -W1 %s", topology.LAN1.gateway4, check=False).ok
    lab.carrier(True)
    lab.wifi_reconnect()
    assert lab.dhcp.daemon.output().count("DHCPACK") == 1
    lab.client.run("ping -c1 -W2 %s", topology.LAN1.gateway4)


def test_adapter_reset_flushes_and_asks_dhcp_again(lab: Lab) -> None:
    lab.client.run("ip addr add 192.0.2.222/32 dev %s", UPLINK)
    lab.adapter_reset()
    addresses = lab.client_addresses()
    assert "192.0.2.222" not in addresses and len(addresses) == 1
    assert "DHCPACK" in lab.dhcp.daemon.output()


def test_roam_moves_the_client_to_another_lan(lab: Lab, tmp_path) -> None:
    lab.start_capture(tmp_path / "roam.pcap")
    lab.roam("lan2")
    (address,) = lab.client_addresses()
    assert in_net(address, topology.LAN2.prefix4)
    assert ("0.0.0.0/0", topology.LAN2.gateway4) in lab.client_routes()
    lab.client.run("curl -sf -m 5 http://%s/", topology.WEB.address4)
    lab.stop_capture()
    # One capture, across the roam: it holds the new LAN's DHCP answer.
    frames = read_frames(tmp_path / "roam.pcap")
    assert any(f.haslayer("IP") and f["IP"].src == topology.LAN2.gateway4 for f in frames)


def test_router_reboot_restarts_dhcp_and_flaps_the_link(lab: Lab) -> None:
    before = lab._dnsmasq["lan1"].pid
    lab.router_reboot()
    after = lab._dnsmasq["lan1"]
    assert after.pid != before
    assert "DHCPACK" in after.output()
    lab.client.run("ping -c1 -W2 %s", topology.LAN1.gateway4)


def test_route_injection_and_deletion(lab: Lab) -> None:
    tunnel_up(lab)
    lab.inject_routes(["0.0.0.0/1", "128.0.0.0/1"])
    routes = dict(lab.client_routes())
    assert routes["0.0.0.0/1"] == routes["128.0.0.0/1"] == topology.LAN1.gateway4
    assert lab.delete_routes(lab.tunnel.interface) >= 1
    remaining = lab.client.run("ip route show table all dev %s", lab.tunnel.interface).stdout
    assert "default" not in remaining


def test_sleep_freezes_and_wake_resumes_the_subject(lab: Lab) -> None:
    lab.client.run("sleep 60 >/dev/null 2>&1 &", cgroup=lab.subject_cgroup)
    (pid,) = lab.subject_cgroup.pids()
    lab.freeze_subject()
    assert (lab.subject_cgroup.path / "cgroup.events").read_text().count("frozen 1") == 1
    lab.thaw_subject()
    assert "frozen 0" in (lab.subject_cgroup.path / "cgroup.events").read_text()
    lab.kill_subject()
    assert lab.subject_cgroup.pids() == []
    assert not os.path.exists(f"/proc/{pid}")


def test_exited_waits_for_a_killed_process_to_die(lab: Lab) -> None:
    for _ in range(2):
        lab.client.run("sleep 60 >/dev/null 2>&1 &", cgroup=lab.subject_cgroup)
    first, second = sorted(lab.subject_cgroup.pids())
    assert lab.exited({first, second}, timeout=0.05) == set()
    os.kill(first, signal.SIGKILL)
    assert lab.exited({first, second}, timeout=5) == {first}
    lab.kill_subject()


def test_client_reboot_wipes_the_network_stack_but_not_the_wire(lab: Lab, tmp_path) -> None:
    tunnel_up(lab)
    lab.client.run("nft add table inet subjecttable")
    lab.client.run("iptables-legacy -A OUTPUT -j DROP", check=False)
    # A veth pair of the subject's: deleting one end deletes the other too.
    lab.client.run("ip link add kspair type veth peer name kspair-end")
    (lab.state_dir / "keep").write_text("kept")
    (lab.run_dir / "lost").write_text("lost")
    lab.start_capture(tmp_path / "reboot.pcap")
    lab.client_reboot()
    assert lab.subject_cgroup.pids() == [] and lab.client.cgroup.pids() == []
    assert lab.client.run("nft list ruleset").stdout.strip() == ""
    links = lab.client.run("ip -o link").stdout
    assert lab.tunnel.interface not in links and "state DOWN" in links
    assert "kspair" not in links
    assert lab.client_addresses() == []
    assert lab.client_routes() == []
    assert (lab.state_dir / "keep").exists() and not (lab.run_dir / "lost").exists()
    lab.client_boot()
    assert len(lab.client_addresses()) == 1
    stats = lab.stop_capture()
    assert stats.dropped == 0
    frames = read_frames(tmp_path / "reboot.pcap")
    assert any(f.haslayer("BOOTP") for f in frames), "the capture kept running across the reboot"


def test_vpn_server_stops_answering(lab: Lab) -> None:
    tunnel_up(lab)
    lab.client.run("curl -sf -m 5 http://%s/", topology.WEB.address4)
    lab.vpn_unreachable(True)
    assert lab.client.run("curl -sf -m 2 http://%s/", topology.WEB.address4, check=False).rc != 0
    lab.vpn_unreachable(False)
    lab.client.run("curl -sf -m 5 http://%s/", topology.WEB.address4)


def test_openvpn_tunnel_carries_traffic_to_net_and_back(tmp_path) -> None:
    with Lab(tmp_path, vpn_kind="openvpn") as lab:
        tunnel = lab.tunnel
        assert tunnel.config.name == f"{tunnel.interface}.ovpn"
        assert (tunnel.endpoint_port, tunnel.kind) == (topology.OPENVPN_PORT, "openvpn")
        log = lab.run_dir / "openvpn.log"
        lab.client.run(
            "openvpn --config %s --daemon --log %s",
            tunnel.config,
            log,
            cgroup=lab.subject_cgroup,
        )
        until("OpenVPN's client to connect", lambda: "Sequence Completed" in log.read_text())
        web = lab.client.run("curl -sf -m 5 http://%s/", topology.WEB.address4).stdout
        assert "leakcert web host" in web
        web6 = lab.client.run("curl -sf -m 5 http://[%s]/", topology.WEB.address6).stdout
        assert "leakcert web host" in web6
        assert stun_mapped_address(lab) == topology.CLIENT_TUNNEL4
        lab.kill_subject()
