#!/bin/sh
# What iptables-persistent does at boot: restore the saved rules, if any.
set -eu
if [ -f "$KS_STATE_DIR/rules.v4" ]; then
    iptables-restore < "$KS_STATE_DIR/rules.v4"
fi
