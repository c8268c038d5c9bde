#!/bin/sh
# wg-quick with the "kill-switch" lines of wg-quick(8) and the same rule for
# ip6tables, joined with && on one PostUp and one PreDown line, as Mullvad's
# and IVPN's config generators ship them. On a copy of the config.
set -eu
conf="$KS_RUN_DIR/$(basename "$KS_TUNNEL_CONFIG")"
rule='OUTPUT ! -o %i -m mark ! --mark $(wg show %i fwmark) -m addrtype ! --dst-type LOCAL -j REJECT'
# Single quotes: wg-quick expands %i and $(...) itself when it runs the lines.
awk -v rule="$rule" '
    { print }
    /^\[Interface\]/ {
        print "PostUp = iptables -I " rule " && ip6tables -I " rule
        print "PreDown = iptables -D " rule " && ip6tables -D " rule
    }
' "$KS_TUNNEL_CONFIG" > "$conf"
chmod 600 "$conf"
# No resolvconf here: set the VPN's resolver as a DNS= line would, keep the LAN's.
cp /etc/resolv.conf "$KS_RUN_DIR/resolv.conf.before"
echo "nameserver $KS_VPN_DNS" > /etc/resolv.conf
WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up "$conf"
