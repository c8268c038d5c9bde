#!/bin/sh
# Trigger: Wi-Fi power off or on (drop and reconnect). $1: the Wi-Fi device (en0), $2: on|off.
set -eu
case "$2" in
    on | off) networksetup -setairportpower "$1" "$2" ;;
    *) echo "wifi.sh: on or off, not $2" >&2; exit 2 ;;
esac
