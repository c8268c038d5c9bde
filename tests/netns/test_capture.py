"""The capture misses nothing, and says so when it cannot prove it."""

from __future__ import annotations

import pytest

from netns import topology
from netns.capture import IncompleteCapture, count_frames, read_frames, token_reader
from netns.lab import Lab

pytestmark = pytest.mark.root

PROBES = 10_000

# The client sends numbered datagrams as fast as one socket can.
SENDER = f"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in range({PROBES}):
    s.sendto(n.to_bytes(4, "big"), ("{topology.LAN1.gateway4}", 9))
"""


def test_ten_thousand_probes_all_accounted_for(lab: Lab, tmp_path) -> None:
    pcap = tmp_path / "flood.pcap"
    lab.start_capture(pcap)
    lab.client.run("python3 -c %s", SENDER, timeout=120)
    stats = lab.stop_capture()
    assert stats.dropped == 0
    assert stats.captured == count_frames(pcap)
    seen = sorted(
        int.from_bytes(bytes(f["UDP"].payload)[:4], "big")
        for f in read_frames(pcap)
        if f.haslayer("UDP") and f["UDP"].dport == 9
    )
    assert seen == list(range(PROBES))


def test_capture_without_its_sentinel_is_incomplete(lab: Lab, tmp_path) -> None:
    lab.start_capture(tmp_path / "cut.pcap")
    # The wire is cut on the router's side: the client's last frame never arrives.
    lab.carrier(False)
    with pytest.raises(IncompleteCapture, match="sentinel"):
        lab.stop_capture()


def test_the_sentinel_is_seen_however_the_pcap_grows_between_looks(tmp_path) -> None:
    pcap, token = tmp_path / "wire.pcap", b"leakcert-sentinel:0123456789abcdef"
    pcap.write_bytes(b"\0" * 4096)
    written = token_reader(pcap, token)
    assert not written()
    with open(pcap, "ab") as file:
        # Half the token now, the rest and a burst of frames before the next look.
        file.write(token[:10])
        file.flush()
        assert not written()
        file.write(token[10:] + b"\1" * 65536)
    assert written()
    # A token's bytes spread over the file, never whole, are no sentinel.
    other = tmp_path / "other.pcap"
    other.write_bytes(token[:-1] + b"\0" + token[1:])
    assert not token_reader(other, token)()
