"""The client runs with a desktop's kernel network settings, not the machine's,
from its build and after every reboot, and the lab reads them back."""

from __future__ import annotations

import pytest

from netns import sysctls
from netns.lab import UPLINK, Lab

pytestmark = pytest.mark.root


def test_the_client_is_pinned_at_build_not_left_to_the_machine(monkeypatch, tmp_path) -> None:
    # Values no kernel defaults to: the client has them only if the lab sets them.
    monkeypatch.setitem(sysctls.IPV4, "arp_ignore", ("1", "2"))
    monkeypatch.setitem(sysctls.IPV6, "use_tempaddr", ("2", "2"))
    with Lab(tmp_path) as lab:
        settings = lab.client_sysctls()
    assert settings == sysctls.desktop([UPLINK])
    assert settings["net.ipv4.conf.uplink.arp_ignore"] == "2"
    assert settings["net.ipv6.conf.uplink.use_tempaddr"] == "2"


def test_a_reboot_restores_what_a_subject_changed(lab: Lab) -> None:
    lab.client.sysctl(
        {
            "net.ipv4.conf.all.src_valid_mark": 1,
            "net.ipv4.conf.all.rp_filter": 1,
            "net.ipv4.conf.uplink.arp_ignore": 1,
            "net.ipv6.conf.all.disable_ipv6": 1,
        }
    )
    assert lab.client_sysctls() != sysctls.desktop([UPLINK])
    lab.client_reboot()
    assert lab.client_sysctls() == sysctls.desktop([UPLINK])


def test_a_deleted_uplink_leaves_its_keys_out(lab: Lab) -> None:
    lab.client.run("ip link del %s", UPLINK)
    assert lab.client_sysctls() == sysctls.desktop([])
