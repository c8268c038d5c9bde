#!/bin/sh
# The user disconnects: stop OpenVPN by its pid; it removes its interface and routes.
set -eu
kill "$(cat "$KS_RUN_DIR/openvpn.pid")"
tries=100
while ip link show "$KS_TUNNEL_IF" >/dev/null 2>&1 && [ "$tries" -gt 0 ]; do
    tries=$((tries - 1))
    sleep 0.1
done
