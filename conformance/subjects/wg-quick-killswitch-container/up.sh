#!/bin/sh
# wg-quick with the "kill-switch" lines of wg-quick(8), on a copy of the config.
set -eu
conf="$KS_RUN_DIR/$(basename "$KS_TUNNEL_CONFIG")"
# The two lines exactly as wg-quick(8) prints them (quoted: wg-quick expands
# %i and $(...) itself when it runs them).
awk '
    { print }
    /^\[Interface\]/ {
        print "PostUp = iptables -I OUTPUT ! -o %i -m mark ! --mark $(wg show %i fwmark) -m addrtype ! --dst-type LOCAL -j REJECT"
        print "PreDown = iptables -D OUTPUT ! -o %i -m mark ! --mark $(wg show %i fwmark) -m addrtype ! --dst-type LOCAL -j REJECT"
    }
' "$KS_TUNNEL_CONFIG" > "$conf"
chmod 600 "$conf"
# No resolvconf here: set the VPN's resolver as a DNS= line would, keep the LAN's.
cp /etc/resolv.conf "$KS_RUN_DIR/resolv.conf.before"
echo "nameserver $KS_VPN_DNS" > /etc/resolv.conf
WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up "$conf"
