#!/bin/sh
# Facts: pf's state and the rules of an anchor (what a kill switch installed). $1: anchor.
set -eu
pfctl -s info
pfctl -a "$1" -s rules
