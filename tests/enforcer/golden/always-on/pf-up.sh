#!/bin/sh
# leakcert-enforcer: put pf anchor "leakcert" in force (macOS, as root).
#   mode: always-on
#   tunnel: utun3 (IPv6 off)
#   endpoint: 203.0.113.1:51820/udp, 203.0.113.2:443/tcp
#   resolver: 198.18.0.53
#   LAN access: off
#   endpoint reached by: any process
set -eu

# 1. The anchor's rules in one transaction: if pfctl refuses them, the
#    rules in force stay as they were and the script stops here.
/sbin/pfctl -q -a leakcert -f - <<'LEAKCERT_PF_RULES'
# leakcert-enforcer anchor "leakcert" for pf: mode=always-on tunnel_ipv6=0 lan_access=0
# Load with `pfctl -a leakcert -f -` (one transaction). Every rule is quick:
# the first match decides.

# loopback
pass quick on lo0 all flags any keep state

# each VPN endpoint: exactly its address, protocol and port (sockets of user _leakcert)
pass out quick inet proto udp from any to 203.0.113.1 port 51820 user _leakcert keep state
pass out quick inet proto tcp from any to 203.0.113.2 port 443 user _leakcert flags any keep state

# DHCPv4 and DHCPv6
pass out quick inet proto udp from any port 68 to any port 67 keep state
pass in quick inet proto udp from any port 67 to any port 68 keep state
pass out quick inet6 proto udp from any port 546 to { fe80::/10, ff02::1:2 } port 547 keep state
pass in quick inet6 proto udp from fe80::/10 port 547 to any port 546 keep state

# IPv6 neighbour discovery and MLD (pf cannot match the hop limit)
pass out quick inet6 proto icmp6 from any to { fe80::/10, ff02::/16 } icmp6-type { 133, 134, 135, 136 } no state
pass in quick inet6 proto icmp6 from any to any icmp6-type { 133, 134, 135, 136 } no state
pass out quick inet6 proto icmp6 from any to { fe80::/10, ff02::/16 } icmp6-type { 130, 131, 132, 143 } no state
pass in quick inet6 proto icmp6 from fe80::/10 to any icmp6-type { 130, 131, 132, 143 } no state

# DNS lock: 53 and 853 only to the VPN resolvers through the tunnel
pass out quick on utun3 inet proto udp from any to 198.18.0.53 port { 53, 853 } keep state
pass out quick on utun3 inet proto tcp from any to 198.18.0.53 port { 53, 853 } flags any keep state
block return out quick proto udp from any to any port { 53, 853 }
block return out quick proto tcp from any to any port { 53, 853 }

# the tunnels (IPv4 only: IPv6 is blocked)
pass out quick on utun3 inet all flags any keep state
pass in quick on utun3 inet all flags any keep state

# everything else: refused on the way out, dropped on the way in
block return out quick all
block drop in quick all
LEAKCERT_PF_RULES

# 2. pf reads an anchor only where the main ruleset names it: if it does
#    not yet, load /etc/pf.conf again with the anchor appended.
if ! /sbin/pfctl -s rules 2>/dev/null | grep -q '^anchor "leakcert"'; then
    { cat /etc/pf.conf; echo 'anchor "leakcert"'; } | /sbin/pfctl -q -f -
fi

# 3. Enable pf with a reference of our own: `down` releases only it.
if [ ! -s /var/run/leakcert-pf.token ]; then
    /sbin/pfctl -E 2>&1 | sed -n 's/^Token : //p' > /var/run/leakcert-pf.token
fi

# 4. pf passes packets of an existing state without reading the rules:
#    forget every state, so nothing allowed before outlives these rules.
/sbin/pfctl -q -F states

# 5. Never report success while pf is off (someone ran `pfctl -d`).
/sbin/pfctl -s info | grep -q '^Status: Enabled' || {
    echo 'leakcert-enforcer: pf is disabled: the anchor is not in force' >&2
    exit 1
}
