#!/bin/sh
# leakcert's reference enforcer in a guest: the rules go in first, then the
# tunnel comes up; `boot install` writes the ruleset and the enforcer's own
# systemd unit to the guest's / (no boot hook: the OS loads them at boot).
set -eu
case "$KS_ENDPOINT_IP" in
    *:*) endpoint="[$KS_ENDPOINT_IP]:$KS_ENDPOINT_PORT/$KS_ENDPOINT_PROTO" ;;
    *) endpoint="$KS_ENDPOINT_IP:$KS_ENDPOINT_PORT/$KS_ENDPOINT_PROTO" ;;
esac
set -- --tunnel "$KS_TUNNEL_IF" --endpoint "$endpoint" --resolver "$KS_VPN_DNS" --mode always-on
if [ -n "${KS_TUNNEL_ADDR6:-}" ]; then
    set -- "$@" --tunnel-ipv6
fi
"$PYTHON" -m enforcer up "$@"
"$PYTHON" -m enforcer boot install "$@" >/dev/null
echo "nameserver $KS_VPN_DNS" > /etc/resolv.conf
# A reconnect finds the interface still there; the rules stay in force meanwhile.
if ip link show "$KS_TUNNEL_IF" >/dev/null 2>&1; then
    wg-quick down "$KS_TUNNEL_CONFIG"
fi
wg-quick up "$KS_TUNNEL_CONFIG"
