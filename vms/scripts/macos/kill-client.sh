#!/bin/sh
# Trigger: the VPN client crashes: every process with that exact name, by its pid. $1: name.
set -eu
pids=$(pgrep -x "$1") || { echo "kill-client.sh: no process named $1" >&2; exit 1; }
for pid in $pids; do
    kill -KILL "$pid"
done
