"""The STUN probe reads the address the server saw, as a browser would; bound probes
use the uplink the runner names; a probe that cannot run gives no result."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from conformance import probes
from conformance.probes import _mapped_address
from netns.topology import UPLINK

COOKIE = b"\x21\x12\xa4\x42"
REPO = Path(__file__).resolve().parents[2]


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


def test_a_probe_whose_program_is_missing_gives_no_result_and_one_line(tmp_path) -> None:
    # No result is what makes the case an ERROR: a probe that sent nothing must not
    # leave the others' outcomes to be judged as if it had. (Both fail before they
    # send: no packet leaves the machine's own namespace.)
    done = subprocess.run(
        [sys.executable, "-m", "conformance.probes", "http", "system-dns"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(tmp_path)},
        cwd=REPO,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == ["probes: [Errno 2] No such file or directory: 'curl'"]
