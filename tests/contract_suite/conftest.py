"""Enables pytester for the contract-suite tests (as tests/plugin/conftest.py explains, a
`pytest_plugins` line is refused in a conftest below the rootdir)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
