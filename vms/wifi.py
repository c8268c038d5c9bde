"""The guest's Wi-Fi as the case's timeline shows it: the access points' log, read.

hostapd runs with `-t -f` (`vms.guest_files`): every line of its log starts
with the guest's clock, in epoch seconds, so the association events go on the
timeline at the moment the access point saw them, not when the lane read them.

    1764175200.123456: 1764175200.123470: ap0: STA 02:00:00:00:01:00 IEEE 802.11: associated (aid 1)
    1764175200.234567: ap0: AP-STA-CONNECTED 02:00:00:00:01:00
"""

from __future__ import annotations

import re

# hostapd's line, after its timestamp and interface: what it means for the station.
_EVENTS = (
    (re.compile(r"STA (?P<mac>\S+) IEEE 802\.11: associated"), "associates with"),
    (re.compile(r"STA (?P<mac>\S+) IEEE 802\.11: deauthenticated"), "is deauthenticated by"),
    (re.compile(r"STA (?P<mac>\S+) IEEE 802\.11: disassociated"), "is disassociated from"),
    (re.compile(r"AP-STA-CONNECTED (?P<mac>\S+)"), "may send (WPA2 keys set) through"),
    (re.compile(r"AP-STA-DISCONNECTED (?P<mac>\S+)"), "is disconnected from"),
)
# The time, and for hostapd's own logger's lines the time again, then the interface.
_LINE = re.compile(r"^(?P<t>\d+\.\d+): (?:\d+\.\d+: )?(?P<iface>[^:\s]+): (?P<rest>.*)$")
CONNECTED = "AP-STA-CONNECTED"  # hostapd's event when a station may send (keys installed)


def association_events(log: str, since: float, station: str) -> list[tuple[float, str]]:
    """(epoch seconds, text) of every association event of `station` at or after `since`."""
    found = []
    for line in log.splitlines():
        match = _LINE.match(line.strip())
        if match is None or float(match["t"]) < since:
            continue
        for pattern, meaning in _EVENTS:
            event = pattern.search(match["rest"])
            if event and event["mac"].lower() == station.lower():
                text = (
                    f"Wi-Fi: the station {meaning} the access point {match['iface']}"
                    f" (hostapd: {match['rest']})"
                )
                found.append((float(match["t"]), text))
                break
    return found
