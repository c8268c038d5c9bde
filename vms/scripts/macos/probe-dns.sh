#!/bin/sh
# Probe: does a lookup of $2 at server $1 get an answer? One JSON line.
set -u
if dig +time=2 +tries=1 +short "@$1" "$2" | grep -q .; then answered=true; else answered=false; fi
printf '{"probe":"dns","server":"%s","name":"%s","answered":%s}\n' "$1" "$2" "$answered"
