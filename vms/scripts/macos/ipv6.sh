#!/bin/sh
# Trigger: IPv6 off or back to automatic for a network service. $1: service, $2: on|off.
set -eu
case "$2" in
    off) networksetup -setv6off "$1" ;;
    on) networksetup -setv6automatic "$1" ;;
    *) echo "ipv6.sh: on or off, not $2" >&2; exit 2 ;;
esac
