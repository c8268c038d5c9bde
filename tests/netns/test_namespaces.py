"""Work done inside a namespace from a thread: it lands in that namespace and
never in the machine's own."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyroute2 import netns as pyroute2_netns

from netns import namespaces
from netns.errors import LabError

pytestmark = pytest.mark.root

TTL = Path("/proc/sys/net/ipv4/ip_default_ttl")


@pytest.fixture
def namespace() -> Iterator[str]:
    name = f"leakcert-test-{os.urandom(3).hex()}"
    namespaces.create(name)
    yield name
    pyroute2_netns.remove(name)


def inside(namespace: str, *argv: str) -> str:
    return subprocess.run(
        ["ip", "netns", "exec", namespace, *argv], capture_output=True, text=True, check=True
    ).stdout


def test_create_makes_a_new_empty_namespace_not_the_machines(namespace: str) -> None:
    assert os.stat(f"/run/netns/{namespace}").st_ino != os.stat("/proc/self/ns/net").st_ino
    links = inside(namespace, "ip", "-o", "link").splitlines()
    assert [line.split(":")[1].strip() for line in links] == ["lo"]


def test_sysctls_are_written_inside_the_namespace_only(namespace: str) -> None:
    machine = TTL.read_text().strip()
    wanted = "77" if machine != "77" else "78"
    namespaces.write_sysctls(namespace, {"net.ipv4.ip_default_ttl": wanted})
    assert inside(namespace, "cat", str(TTL)).strip() == wanted
    assert TTL.read_text().strip() == machine


def test_a_key_that_is_not_a_namespaces_network_setting_is_refused(namespace: str) -> None:
    hostname = Path("/proc/sys/kernel/hostname").read_text()
    for key in ("kernel.hostname", "net/../kernel.hostname", "net..ipv4"):
        with pytest.raises(LabError, match="not a network sysctl"):
            namespaces.write_sysctls(namespace, {key: "x"})
    assert Path("/proc/sys/kernel/hostname").read_text() == hostname


def test_a_missing_namespace_is_an_error_and_the_machine_is_untouched() -> None:
    machine = TTL.read_text()
    with pytest.raises(OSError):
        namespaces.write_sysctls("leakcert-test-missing", {"net.ipv4.ip_default_ttl": 99})
    assert TTL.read_text() == machine
