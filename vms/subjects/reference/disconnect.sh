#!/bin/sh
# Always-on: the tunnel goes down, the rules stay (only `down --force` removes them).
set -eu
wg-quick down "$KS_TUNNEL_CONFIG"
