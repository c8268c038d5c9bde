"""The capture of the wire, and the proof that it missed nothing.

tcpdump runs on the router's end of the client's link, unbuffered
(`--immediate-mode`, `-U`), from before the case acts until after a sentinel
frame that the client sends last has been written. A capture counts only if
the sentinel is in the file, the kernel dropped nothing, and tcpdump's own
count equals the frames in the file.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from netns.errors import LabError
from netns.host import Host
from netns.namespaces import socket_in
from netns.procs import Daemon, WriteWake
from netns.wait import until

# IEEE 802 "local experimental" EtherType: never a real protocol on the wire.
SENTINEL_ETHERTYPE = 0x88B5
SENTINEL_MAGIC = b"leakcert-sentinel:"


@dataclass(frozen=True)
class CaptureStats:
    captured: int
    dropped: int


SNAPLEN = 2048  # bytes: a whole Ethernet frame at the lab's MTU


class IncompleteCapture(LabError):
    """The capture cannot be trusted: a verdict from it would be a guess."""


def is_sentinel(frame: bytes) -> bool:
    return int.from_bytes(frame[12:14], "big") == SENTINEL_ETHERTYPE and SENTINEL_MAGIC in frame


class Capture:
    """A pcap of one interface of one host."""

    def __init__(self, host: Host, ifname: str, pcap: Path) -> None:
        self.host = host
        self.ifname = ifname
        self.pcap = pcap
        self.daemon: Daemon | None = None
        self.stats: CaptureStats | None = None

    def start(self) -> None:
        self.daemon = self.host.spawn(
            f"tcpdump-{self.ifname}",
            [
                "tcpdump",
                "-i",
                self.ifname,
                "-w",
                str(self.pcap),
                "-U",
                "--immediate-mode",
                "-n",
                # In immediate mode libpcap gives every frame a ring slot of
                # snaplen bytes: with the default (256 KiB) a 32 MiB ring holds
                # 128 frames and a burst is dropped. The wire's MTU is 1500.
                "-s",
                str(SNAPLEN),
                "-B",
                "32768",
            ],
        )
        self.daemon.wait_for_log(r"listening on " + re.escape(self.ifname))

    def stop(self, send_sentinel, timeout: float = 10.0) -> CaptureStats:
        """Send the sentinel with `send_sentinel(frame_payload)`, see it written, stop.

        Raises IncompleteCapture when any proof of completeness fails.
        """
        if self.daemon is None:
            raise LabError("capture was never started")
        token = SENTINEL_MAGIC + os.urandom(8).hex().encode()
        send_sentinel(token)
        written = token_reader(self.pcap, token)
        daemon = self.daemon

        def arrived() -> bool:
            if written():
                return True
            if daemon.popen.poll() is not None:
                raise LabError("tcpdump exited")
            return False

        try:
            what = f"the sentinel frame in the capture of {self.ifname}"
            with WriteWake(self.pcap, daemon.pid) as wake:
                until(what, arrived, timeout, wake=wake)
        except LabError:
            self.daemon.stop()
            raise IncompleteCapture(
                f"capture of {self.ifname}: the sentinel frame never arrived"
            ) from None
        self.daemon.stop()
        self.stats = _parse_stats(self.daemon.output())
        self.daemon = None
        if self.stats.dropped:
            raise IncompleteCapture(
                f"capture of {self.ifname}: the kernel dropped {self.stats.dropped} packets"
            )
        in_file = count_frames(self.pcap)
        if in_file != self.stats.captured:
            raise IncompleteCapture(
                f"capture of {self.ifname}: tcpdump counted {self.stats.captured} "
                f"packets but wrote {in_file}"
            )
        return self.stats

    def abort(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()
            self.daemon = None


def token_reader(path: Path, token: bytes) -> Callable[[], bool]:
    """A look at a growing file: has `token` been written to it yet?

    Each look reads on from where the last one's data ended (less a token's
    length, so that a token half-written then is read whole now): nothing
    written between two looks is skipped, however fast the file grows.
    """
    offset = 0

    def look() -> bool:
        nonlocal offset
        with open(path, "rb") as file:
            file.seek(offset)
            data = file.read()
        if token in data:
            return True
        offset += max(0, len(data) - len(token) + 1)
        return False

    return look


def _parse_stats(output: str) -> CaptureStats:
    def number(label: str) -> int:
        match = re.search(r"(\d+) packets? " + label, output)
        if match is None:
            raise IncompleteCapture(f"tcpdump printed no '{label}' count")
        return int(match.group(1))

    dropped = number("dropped by kernel")
    interface = re.search(r"(\d+) packets? dropped by interface", output)
    if interface:
        dropped += int(interface.group(1))
    return CaptureStats(number("captured"), dropped)


def count_frames(pcap: Path) -> int:
    """Frames in a classic pcap file (read by record headers, no parsing)."""
    data = pcap.read_bytes()
    if len(data) < 24:
        return 0
    order = "little" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else "big"
    offset, frames = 24, 0
    while offset + 16 <= len(data):
        included = int.from_bytes(data[offset + 8 : offset + 12], order)
        offset += 16 + included
        frames += 1
    return frames


@dataclass(frozen=True)
class Frame:
    """One captured frame: its bytes and its capture time (epoch seconds)."""

    data: bytes
    t: float


def read_wire(pcap: Path) -> list[Frame]:
    """The capture's frames as bytes, without the sentinel (what the judge reads)."""
    from scapy.utils import RawPcapReader

    with RawPcapReader(str(pcap)) as reader:
        return [
            Frame(data, meta.sec + meta.usec / 1e6)
            for data, meta in reader
            if not is_sentinel(data)
        ]


def read_frames(pcap: Path) -> list:
    """The capture's frames as scapy packets, without the sentinel."""
    # Load the layers a lab's wire carries, so frames dissect fully.
    import scapy.layers.dhcp
    import scapy.layers.dhcp6
    import scapy.layers.dns
    import scapy.layers.inet6
    import scapy.layers.l2  # noqa: F401
    from scapy.utils import PcapReader

    with PcapReader(str(pcap)) as reader:
        return [frame for frame in reader if not is_sentinel(bytes(frame))]


@contextmanager
def packet_socket(namespace: str, ifname: str) -> Iterator[socket.socket]:
    """A raw packet socket that sends on `ifname` inside `namespace`, for a with block.

    Protocol 0: it receives nothing, so no receive hook is registered and the
    bind does not wait for the kernel's grace period (synchronize_net, 8 to 20
    ms here). Its close always does, so it is closed off the caller's path.
    """
    sock = socket_in(namespace, socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        sock.bind((ifname, 0))
        yield sock
    finally:
        threading.Thread(target=sock.close, name="close a packet socket", daemon=True).start()
