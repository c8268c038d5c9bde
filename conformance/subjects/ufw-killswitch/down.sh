#!/bin/sh
# The user disconnects: wg-quick down; ufw stays enabled (the recipe's point).
set -eu
wg-quick down "$KS_TUNNEL_CONFIG"
if [ -f "$KS_RUN_DIR/resolv.conf.before" ]; then
    cat "$KS_RUN_DIR/resolv.conf.before" > /etc/resolv.conf
fi
