#!/bin/sh
# The user disconnects: wg-quick down, and the LAN's resolver back (resolvconf -d).
set -eu
wg-quick down "$KS_TUNNEL_CONFIG"
if [ -f "$KS_RUN_DIR/resolv.conf.before" ]; then
    cat "$KS_RUN_DIR/resolv.conf.before" > /etc/resolv.conf
fi
