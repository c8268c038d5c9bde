"""Fixtures shared by the project's own tests."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests that build namespaces or load nftables rules cannot run unprivileged;
    # they are skipped visibly (with the reason), never counted as passed.
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (network namespaces, nftables)")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)
