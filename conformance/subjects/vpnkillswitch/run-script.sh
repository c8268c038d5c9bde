#!/bin/sh
# What vpnkillswitch's systemd unit does at boot: run the generated script.
# The script edits /etc/sysctl.conf, so it gets the client's own copy, mounted
# over the machine's in a mount namespace of its own.
set -eu
script="$KS_STATE_DIR/rexbytes_vpn4killswitch.sh"
[ -f "$script" ] || exit 0
[ -f "$KS_STATE_DIR/sysctl.conf" ] || : > "$KS_STATE_DIR/sysctl.conf"
exec unshare --mount --propagation private sh -c \
    'mount --bind "$1/sysctl.conf" /etc/sysctl.conf && exec bash "$1/rexbytes_vpn4killswitch.sh"' \
    - "$KS_STATE_DIR"
