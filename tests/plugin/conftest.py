"""Enables pytester for the plugin tests, and imports PyYAML before any of them runs.

`pytest_plugins = ["pytester"]` would do it, but pytest refuses that line in a conftest below
the rootdir when the whole suite runs (this one is loaded during collection, not at start-up).
pytest_configure is replayed for conftests loaded late, so the plugin is registered from it.
"""

from __future__ import annotations

import pytest

# pytester's in-process runs drop the modules they imported when they end. PyYAML is one a run
# may import first (mockscope reads schemas/openapi.yaml with it on first use), and its C parser
# does not survive being imported twice in one process: schemathesis' YAML loading in a later
# test of the same process would fail. Imported here, it stays.
import yaml  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
