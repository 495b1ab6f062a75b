"""Enables pytester for the plugin tests.

`pytest_plugins = ["pytester"]` would do it, but pytest refuses that line in a conftest below
the rootdir when the whole suite runs (this one is loaded during collection, not at start-up).
pytest_configure is replayed for conftests loaded late, so the plugin is registered from it.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
