#!/bin/sh
# leakcert's reference enforcer: the rules go in first, then the tunnel comes up.
set -eu
case "$KS_ENDPOINT_IP" in
    *:*) endpoint="[$KS_ENDPOINT_IP]:$KS_ENDPOINT_PORT/$KS_ENDPOINT_PROTO" ;;
    *) endpoint="$KS_ENDPOINT_IP:$KS_ENDPOINT_PORT/$KS_ENDPOINT_PROTO" ;;
esac
# The tunnel's own socket carries a mark from its first packet (FwMark, set
# before the link is up), and only packets with it reach the endpoint: another
# process that sends to the server's port is refused (Cure53 MUL-02-002).
mark=51820
config="$KS_RUN_DIR/$(basename "$KS_TUNNEL_CONFIG")"
(umask 077 && sed "s/^\[Interface\]\$/[Interface]\nFwMark = $mark/" "$KS_TUNNEL_CONFIG" >"$config")
set -- --tunnel "$KS_TUNNEL_IF" --endpoint "$endpoint" --resolver "$KS_VPN_DNS" --mode always-on \
    --endpoint-mark "$mark"
if [ -n "${KS_TUNNEL_ADDR6:-}" ]; then
    set -- "$@" --tunnel-ipv6
fi
# The user's "allow LAN": the enforcer opens the private ranges only, never the
# subnet DHCP hands out (which a hostile LAN chooses: TunnelCrack's LocalNet).
if [ "${KS_LAN_ACCESS:-0}" = 1 ]; then
    set -- "$@" --lan-access
fi
"$PYTHON" -m enforcer up "$@"
# What boot.sh loads: the same ruleset, as `boot install` writes it for systemd.
"$PYTHON" -m enforcer boot install "$@" --root "$KS_STATE_DIR" >/dev/null
echo "nameserver $KS_VPN_DNS" > /etc/resolv.conf
# A reconnect finds the interface still there; the rules stay in force meanwhile.
if ip link show "$KS_TUNNEL_IF" >/dev/null 2>&1; then
    wg-quick down "$config"
fi
WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up "$config"
