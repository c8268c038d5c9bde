"""Drive protonvpn-cli 2.2.11's leak protection around the lab's OpenVPN tunnel.

protonvpn-cli's `connect` starts OpenVPN with its log in the config folder,
waits for "Initialization Sequence Completed", then calls manage_dns,
manage_ipv6("disable") and manage_killswitch("enable", proto, port); its
`disconnect` stops OpenVPN and restores all three. This script makes exactly
those calls, with two changes the lab needs: the config folder is the
subject's state folder (not root's home), and OpenVPN is stopped by its pid,
because protonvpn-cli's own disconnect runs `pkill openvpn`, which would hit
every OpenVPN on the machine, the lab's server included.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

CONFIG_DIR = Path(os.environ["KS_STATE_DIR"]) / "pvpn-cli"
PIDFILE = Path(os.environ["KS_RUN_DIR"]) / "openvpn.pid"
CONNECT_TIMEOUT = 45  # seconds, as protonvpn-cli waits


def protonvpn():
    """protonvpn-cli's connection module, its paths moved into the state folder."""
    try:
        from protonvpn_cli import constants
    except ImportError:
        sys.exit("protonvpn-cli is not installed: pip install protonvpn-cli==2.2.11")
    CONFIG_DIR.mkdir(parents=True, exist_ok=True)
    constants.CONFIG_DIR = str(CONFIG_DIR)
    constants.CONFIG_FILE = str(CONFIG_DIR / "pvpn-cli.cfg")
    # Its settings, written once as `protonvpn init` does: kill switch on
    # (1: no LAN access), DNS leak protection on.
    if not Path(constants.CONFIG_FILE).exists():
        Path(constants.CONFIG_FILE).write_text(
            "[USER]\nkillswitch = 1\ndns_leak_protection = 1\ncustom_dns = None\n[metadata]\n"
        )
    from protonvpn_cli import connection

    return connection


def connect() -> None:
    connection = protonvpn()
    log = CONFIG_DIR / "ovpn.log"
    with open(log, "w+") as out:
        openvpn = subprocess.Popen(
            ["openvpn", "--config", os.environ["KS_TUNNEL_CONFIG"],
             "--dev", os.environ["KS_TUNNEL_IF"], "--dev-type", "tun"],
            stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    PIDFILE.write_text(str(openvpn.pid))
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while "Initialization Sequence Completed" not in log.read_text():
        if openvpn.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"OpenVPN did not connect: {log.read_text().strip().splitlines()[-1:]}")
        time.sleep(0.1)
    connection.manage_dns("leak_protection", os.environ["KS_VPN_DNS"])
    connection.manage_ipv6("disable")
    connection.manage_killswitch(
        "enable", proto=os.environ["KS_ENDPOINT_PROTO"], port=os.environ["KS_ENDPOINT_PORT"]
    )


def disconnect() -> None:
    connection = protonvpn()
    pid = int(PIDFILE.read_text())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while Path(f"/sys/class/net/{os.environ['KS_TUNNEL_IF']}").exists():
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.1)
    connection.manage_dns("restore")
    connection.manage_ipv6("restore")
    connection.manage_killswitch("restore")


if __name__ == "__main__":
    {"connect": connect, "disconnect": disconnect}[sys.argv[1]]()
