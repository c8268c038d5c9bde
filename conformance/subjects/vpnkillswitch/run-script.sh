#!/bin/sh
# What vpnkillswitch's systemd unit does at boot: run the generated script.
# The script edits /etc/sysctl.conf: the client's own, as the sandbox gives
# every subject an /etc of the client's.
set -eu
script="$KS_STATE_DIR/rexbytes_vpn4killswitch.sh"
[ -f "$script" ] || exit 0
exec bash "$script"
