#!/bin/sh
# What ufw.service does at boot (before network-pre.target): load the rules
# if ufw.conf says ENABLED=yes. /etc/ufw is the client's own, kept across
# its reboots, as the sandbox gives every subject an /etc of the client's.
set -eu
/lib/ufw/ufw-init start quiet
