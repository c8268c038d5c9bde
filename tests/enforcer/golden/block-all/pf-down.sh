#!/bin/sh
# leakcert-enforcer: remove pf anchor "leakcert" (macOS, as root).
set -eu
/sbin/pfctl -q -a leakcert -F rules
if [ -s /var/run/leakcert-pf.token ]; then
    /sbin/pfctl -X "$(cat /var/run/leakcert-pf.token)"
    rm -f /var/run/leakcert-pf.token
fi
