"""The STUN probe reads the address the server saw, as a browser would; bound probes
use the uplink the runner names."""

from __future__ import annotations

import socket

from conformance import probes
from conformance.probes import _mapped_address
from netns.topology import UPLINK

COOKIE = b"\x21\x12\xa4\x42"


def binding_response(transaction: bytes, address: str, port: int) -> bytes:
    raw = socket.inet_aton(address)
    xored = bytes(a ^ b for a, b in zip(raw, COOKIE, strict=True))
    xport = (port ^ 0x2112).to_bytes(2, "big")
    software = b"\x80\x22\x00\x05coturn\x00\x00\x00"[:12]
    attr = b"\x00\x20\x00\x08\x00\x01" + xport + xored
    body = software + attr
    return b"\x01\x01" + len(body).to_bytes(2, "big") + COOKIE + transaction + body


def test_xor_mapped_address_after_another_attribute() -> None:
    transaction = bytes(range(12))
    answer = binding_response(transaction, "198.51.100.3", 40000)
    assert _mapped_address(answer, transaction) == "198.51.100.3"


def test_answer_without_mapped_address() -> None:
    assert _mapped_address(b"\x01\x01\x00\x00" + COOKIE + bytes(12), bytes(12)) is None


def test_the_bound_probes_use_the_uplink_the_runner_names(monkeypatch) -> None:
    # The netns client's interface unless told (a guest's eth0, or its Wi-Fi station).
    monkeypatch.delenv(probes.UPLINK_ENV, raising=False)
    assert probes._uplink() == UPLINK
    monkeypatch.setenv(probes.UPLINK_ENV, "wlan0")
    assert probes._uplink() == "wlan0"
    # An interface that is not there: the bound probe fails, it does not pick another.
    monkeypatch.setenv(probes.UPLINK_ENV, "nosuch0")
    assert probes.PROBES["icmp-bound"]().ok is False
