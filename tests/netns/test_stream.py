"""The stream: all it sent is on the wire, numbered, and it outlives the subject."""

from __future__ import annotations

import time

import pytest

from netns.capture import read_wire
from netns.errors import LabError
from netns.lab import Lab
from netns.stream import DNS_NAME, PAYLOAD_SIZE, main, mark, payload

pytestmark = pytest.mark.root


def test_a_payload_says_its_number_and_time() -> None:
    data = b"headers" + payload(41, 1_700_000_000.25)
    assert len(payload(0)) == PAYLOAD_SIZE
    found = mark(data)
    assert (found.seq, found.sent) == (41, 1_700_000_000.25)
    assert mark(b"anything else") is None
    assert mark(payload(1)[:-1]) is None


def test_bad_arguments_are_one_line_and_exit_2(capsys) -> None:
    assert main([]) == 2
    assert main(["fast", "203.0.113.10"]) == 2
    assert main(["1000", "not-an-address"]) == 2
    assert capsys.readouterr().err.count("\n") == 3


def test_every_packet_the_stream_sent_is_on_the_wire(lab: Lab, tmp_path) -> None:
    # No tunnel and no kill switch: IPv4 leaves by the LAN, IPv6 has no route.
    pcap = tmp_path / "stream.pcap"
    lab.start_capture(pcap)
    lab.start_stream()
    time.sleep(1.0)  # a second of the stream's own pace is what is measured
    summary = lab.stop_stream()
    facts = lab.wire_facts()
    lab.stop_capture()
    assert summary.achieved >= 1000, summary
    assert summary.sent + summary.refused == summary.packets
    client = bytes.fromhex(facts.client_mac.replace(":", ""))
    numbers = sorted(
        found.seq
        for frame in read_wire(pcap)
        if frame.data[6:12] == client and (found := mark(frame.data)) is not None
    )
    assert len(numbers) == summary.sent
    assert len(set(numbers)) == len(numbers)
    # The system's resolver (the LAN's, from DHCP) was asked too, and logged it.
    queries = lab.lan_resolvers()[lab.lan.gateway4].output().count(f"query[A] {DNS_NAME}")
    assert queries >= 5, queries


def test_the_stream_outlives_the_subject_and_a_reboot(lab: Lab, tmp_path) -> None:
    lab.start_capture(tmp_path / "w.pcap")
    lab.start_stream()
    lab.kill_subject()
    lab.client_reboot()
    lab.client_boot()
    summary = lab.stop_stream()  # fails if the stream had died
    lab.stop_capture()
    assert summary.packets > 0


def test_a_prepared_stream_sends_nothing_until_it_is_started(lab: Lab, tmp_path) -> None:
    pcap = tmp_path / "w.pcap"
    lab.start_capture(pcap)
    lab.prepare_stream()
    lab.client.run("ping -c 20 -i 0.01 %s", lab.lan.gateway4)  # the client is busy meanwhile
    started = time.time()
    lab.start_stream()
    lab.client.run("ping -c 20 -i 0.01 %s", lab.lan.gateway4)
    summary = lab.stop_stream()
    facts = lab.wire_facts()
    lab.stop_capture()
    client = bytes.fromhex(facts.client_mac.replace(":", ""))
    sent = [
        found.sent
        for frame in read_wire(pcap)
        if frame.data[6:12] == client and (found := mark(frame.data)) is not None
    ]
    assert sent and len(sent) == summary.sent
    assert min(sent) >= started


def test_a_prepared_stream_that_never_started_is_stopped_with_the_lab(tmp_path) -> None:
    with Lab(tmp_path) as lab:
        lab.prepare_stream()
        with pytest.raises(LabError, match="no stream is running"):
            lab.stop_stream()
    # The lab's teardown stopped it (the session's own check finds no lab left).
