#!/bin/sh
# The common ufw kill-switch recipe, then wg-quick up. ufw writes the client's
# own /etc/ufw (the sandbox's), which starts as the machine's.
set -eu
# The recipe is a one-time setup that ufw.service reloads at every boot: apply
# it once. (Re-running `ufw default ...` on a live ufw stops the firewall,
# policies ACCEPT, and starts it again: a window this hook should not add.)
if ! grep -q '^ENABLED=yes' /etc/ufw/ufw.conf; then
    ufw default deny outgoing
    ufw default deny incoming
    ufw allow out on "$KS_TUNNEL_IF"
    ufw allow out to "$KS_ENDPOINT_IP" port "$KS_ENDPOINT_PORT" proto "$KS_ENDPOINT_PROTO"
    # --force: skip the "may disrupt existing ssh connections" prompt.
    ufw --force enable
fi
# No resolvconf here: set the VPN's resolver as a DNS= line would, keep the LAN's.
cp /etc/resolv.conf "$KS_RUN_DIR/resolv.conf.before"
echo "nameserver $KS_VPN_DNS" > /etc/resolv.conf
WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up "$KS_TUNNEL_CONFIG"
