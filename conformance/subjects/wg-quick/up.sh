#!/bin/sh
# wg-quick as Debian ships it, with no kill switch.
set -eu
# wg-quick's DNS= line would call resolvconf, which is not installed: do its
# job by hand, keeping the LAN's resolv.conf for down.sh as resolvconf does.
cp /etc/resolv.conf "$KS_RUN_DIR/resolv.conf.before"
echo "nameserver $KS_VPN_DNS" > /etc/resolv.conf
WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up "$KS_TUNNEL_CONFIG"
