#!/bin/sh
# Probe: does a TCP connection to $1:$2 open (within $3 seconds, default 3)? One JSON line.
set -u
if nc -z -G "${3:-3}" "$1" "$2" >/dev/null 2>&1; then reached=true; else reached=false; fi
printf '{"probe":"tcp","address":"%s","port":%d,"reached":%s}\n' "$1" "$2" "$reached"
