"""The link monitor reports an interface going up and stopping being up, in order."""

from __future__ import annotations

import pytest

from netns.lab import Lab
from netns.monitor import LinkMonitor

pytestmark = pytest.mark.root


def test_up_and_gone_as_the_kernel_announces_them(lab: Lab) -> None:
    monitor = LinkMonitor(lab.client.namespace, ("t0",)).start()
    lab.client.run("ip link add t0 type veth peer name t1")  # created down: not a change
    lab.client.run("ip link set t1 up && ip link set t0 up")
    lab.client.run("ip link set t0 down && ip link set t0 up")
    lab.client.run("ip link del t0")
    lab.client.run("ip link add t2 type veth peer name t3 && ip link set t2 up")  # not watched
    changes = monitor.stop()
    # A deleted interface is announced down first: that is when it stopped being up.
    assert [c.state for c in changes] == ["up", "down", "up", "down"]
    assert all(c.ifname == "t0" for c in changes)
    assert [c.t for c in changes] == sorted(c.t for c in changes)
