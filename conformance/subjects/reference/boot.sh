#!/bin/sh
# What the systemd unit of `boot install` does before any network: load the saved
# ruleset; before the first connect there is none, so block everything but
# loopback, DHCP and neighbour discovery.
set -eu
saved="$KS_STATE_DIR/etc/leakcert/enforcer.nft"
if [ -f "$saved" ]; then
    nft -f "$saved"
else
    "$PYTHON" -m enforcer block
fi
