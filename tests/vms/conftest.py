"""Fixtures for the guest lane's tests: the image (built once, cached), a guest lab."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vms.image import Image, build
from vms.lab import GuestLab


@pytest.fixture(scope="session")
def image() -> Image:
    """The guest image: from the cache, or built (minutes, once)."""
    return build()


@pytest.fixture
def guest_lab(image: Image, tmp_path: Path) -> Iterator[GuestLab]:
    """A guest lab with its capture running and its guest on (restored from the warm snapshot)."""
    with GuestLab(image, tmp_path) as lab:
        lab.start_capture(tmp_path / "wire.pcap")
        lab.power_on()
        yield lab
