"""The STUN probe reads the address the server saw, as a browser would."""

from __future__ import annotations

import socket

from conformance.probes import _mapped_address

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
