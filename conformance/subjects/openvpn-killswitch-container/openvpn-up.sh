#!/bin/sh
# Start OpenVPN with the lab's .ovpn (redirect-gateway def1) and any extra
# options given as arguments, as a daemon; return once it reports the tunnel
# complete, or fail with its log's last line.
set -eu
echo "nameserver $KS_VPN_DNS" > /etc/resolv.conf
log="$KS_RUN_DIR/openvpn.log"
: > "$log"
openvpn --config "$KS_TUNNEL_CONFIG" --daemon leakcert-openvpn \
    --log "$log" --writepid "$KS_RUN_DIR/openvpn.pid" "$@"
# OpenVPN has no "wait until connected" switch: read its log for the line it
# prints when the tunnel and its routes are up (20 s at most).
tries=200
until grep -q "Initialization Sequence Completed" "$log"; do
    tries=$((tries - 1))
    if [ "$tries" -eq 0 ] || grep -q "Exiting due to fatal error" "$log"; then
        tail -n 1 "$log" >&2
        exit 1
    fi
    sleep 0.1
done
