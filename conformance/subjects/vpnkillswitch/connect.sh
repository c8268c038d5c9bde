#!/bin/sh
# vpnkillswitch --vpn writes a bash script and a systemd unit that runs it at
# boot, then runs the script with sudo. Here the hook takes only the script it
# generates (never its installer), keeps it in the state folder and runs it.
set -eu
"$PYTHON" - > "$KS_STATE_DIR/rexbytes_vpn4killswitch.sh" <<'PY'
import sys
try:
    from vpnkillswitch.systemipswitches import ServiceBashTexts
except ImportError:
    sys.exit("vpnkillswitch is not installed: pip install vpnkillswitch==0.1.11")
print(ServiceBashTexts().vpnkillswitch_text(netclass="C", interface="tun+")[1])
PY
./run-script.sh
# The script switches IPv6 off; OpenVPN then exits when the server pushes
# IPv6 addresses, so it refuses them, as OpenVPN's manual says to.
exec ../openvpn/up.sh --pull-filter ignore ifconfig-ipv6 --pull-filter ignore route-ipv6
