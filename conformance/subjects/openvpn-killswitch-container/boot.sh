#!/bin/sh
# What the container does at start with the guide's setup: iptables-persistent
# restores the saved rules, if any (IPv6 is off by the container's --sysctl).
set -eu
if [ -f "$KS_STATE_DIR/rules.v4" ]; then
    iptables-restore < "$KS_STATE_DIR/rules.v4"
fi
