#!/bin/sh
# The guide's rules, with its placeholders filled in from the lab, saved as
# iptables-persistent would (IPv6 is off by the container's --sysctl); then OpenVPN.
set -eu
iptables -F
iptables -X
iptables -P INPUT DROP
iptables -P FORWARD DROP
iptables -P OUTPUT DROP
iptables -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
iptables -A INPUT -i lo -j ACCEPT
iptables -A OUTPUT -o lo -j ACCEPT
iptables -A INPUT -i tun+ -j ACCEPT
iptables -A OUTPUT -o tun+ -j ACCEPT
iptables -A OUTPUT -d "$KS_ENDPOINT_IP" -p "$KS_ENDPOINT_PROTO" --dport "$KS_ENDPOINT_PORT" -j ACCEPT
iptables-save > "$KS_STATE_DIR/rules.v4"
# With IPv6 off OpenVPN exits when the server pushes IPv6 addresses: refuse
# them, as OpenVPN's manual says to (the guide's VPN pushes none).
exec ./openvpn-up.sh --pull-filter ignore ifconfig-ipv6 --pull-filter ignore route-ipv6
