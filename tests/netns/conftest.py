"""Fixtures for the lab's integration tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from netns import registry
from netns.lab import Lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """A fresh lab (IPv4 LAN, tunnel with IPv6), torn down after the test.

    Scope: function. Depends on: root, the Debian tools of bin/install-deps.
    Logs and pcaps stay in the test's tmp_path.
    """
    with Lab(tmp_path) as built:
        yield built


@pytest.fixture(autouse=True, scope="session")
def nothing_left_behind() -> Iterator[None]:
    """After the session, no lab of this process may still be registered."""
    yield
    mine = [r.lab_id for r in registry.records() if r.owner_pid == os.getpid()]
    assert not mine, f"labs left behind: {mine}"
