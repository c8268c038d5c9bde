"""The checkout's names for the suite's options: `pytest conformance --subject NAME_OR_PATH`.

Everything else is leakcert's pytest plugin (`conformance/plugin.py`, registered
by entry point once leakcert is installed): `--subject`, `--profile`,
`--results` and `--hook-timeout` are its `--leakcert-*` options under the
names this checkout has always used.
"""

from __future__ import annotations

import pytest

from conformance import plugin


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    # A bare checkout (not installed) has no entry point: the plugin is registered here.
    if not pluginmanager.has_plugin("leakcert"):
        pluginmanager.register(plugin, "leakcert")
    plugin.add_short_options(parser)
