#!/bin/sh
# The user disconnects: wg-quick down runs PreDown, which removes the rule (by design).
set -eu
wg-quick down "$KS_RUN_DIR/$(basename "$KS_TUNNEL_CONFIG")"
if [ -f "$KS_RUN_DIR/resolv.conf.before" ]; then
    cat "$KS_RUN_DIR/resolv.conf.before" > /etc/resolv.conf
fi
