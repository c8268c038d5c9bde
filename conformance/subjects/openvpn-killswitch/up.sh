#!/bin/sh
# The guide's rules, with its placeholders filled in from the lab (tun0 becomes
# the lab's tunnel interface), saved as iptables-persistent would, then OpenVPN.
set -eu
iptables -F
iptables -X
iptables -P INPUT DROP
iptables -P FORWARD DROP
iptables -P OUTPUT DROP
iptables -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
iptables -A INPUT -i lo -j ACCEPT
iptables -A OUTPUT -o lo -j ACCEPT
iptables -A INPUT -i "$KS_TUNNEL_IF" -j ACCEPT
iptables -A OUTPUT -o "$KS_TUNNEL_IF" -j ACCEPT
iptables -A OUTPUT -d "$KS_ENDPOINT_IP" -p "$KS_ENDPOINT_PROTO" --dport "$KS_ENDPOINT_PORT" -j ACCEPT
iptables-save > "$KS_STATE_DIR/rules.v4"
exec ../openvpn/up.sh
