"""Fixtures for the enforcer tests: namespaces built here, deleted in finalizers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.enforcer.support import Bench, del_netns, new_netns


@pytest.fixture(scope="module")
def bench() -> Iterator[Bench]:
    """Client and far namespaces with a listener; shared by one module's tests."""
    built = Bench()
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def fresh_bench(bench: Bench) -> Iterator[Bench]:
    """The module's bench with no enforcer table before and after the test."""
    bench.down()
    yield bench
    bench.down()


@pytest.fixture
def netns() -> Iterator[str]:
    """One empty network namespace (loopback up)."""
    name = new_netns("x")
    try:
        yield name
    finally:
        del_netns(name)
