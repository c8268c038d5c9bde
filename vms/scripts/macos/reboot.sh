#!/bin/sh
# Trigger: macOS restarts itself (an orderly reboot).
set -eu
shutdown -r now
