#!/bin/sh
# Run "$@" with the client's own ufw state bind-mounted over /etc/ufw and
# /etc/default/ufw, in a private mount namespace: the machine's own ufw files
# are never written, and each lab's client keeps its own (in KS_STATE_DIR,
# which survives reboots as /etc does).
set -eu
state="$KS_STATE_DIR/ufw"
if [ ! -d "$state/etc-ufw" ]; then
    # First use: the package's pristine configuration (ENABLED=no, as installed).
    mkdir -p "$state"
    cp -a /etc/ufw "$state/etc-ufw.tmp"
    cp -a /etc/default/ufw "$state/default-ufw"
    mv "$state/etc-ufw.tmp" "$state/etc-ufw"
fi
# unshare -m makes the mounts private, so they vanish when the hook exits.
exec unshare -m --propagation private /bin/sh -c '
    set -eu
    mount --bind "$0/etc-ufw" /etc/ufw
    mount --bind "$0/default-ufw" /etc/default/ufw
    exec "$@"
' "$state" "$@"
