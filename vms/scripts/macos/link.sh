#!/bin/sh
# Trigger: the interface goes down or comes back (link events). $1: interface, $2: up|down.
set -eu
case "$2" in
    up | down) ifconfig "$1" "$2" ;;
    *) echo "link.sh: up or down, not $2" >&2; exit 2 ;;
esac
