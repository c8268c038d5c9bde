#!/bin/sh
# What the machine does at boot with the guide's setup: sysctl.conf turns
# IPv6 off, iptables-persistent restores the saved rules, if any.
set -eu
sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
if [ -f "$KS_STATE_DIR/rules.v4" ]; then
    iptables-restore < "$KS_STATE_DIR/rules.v4"
fi
