#!/bin/sh
# What ufw.service does at boot (before network-pre.target): load the rules
# if ufw.conf says ENABLED=yes. Run under with-client-ufw.sh.
set -eu
/lib/ufw/ufw-init start quiet
