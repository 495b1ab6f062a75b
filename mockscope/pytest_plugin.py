"""The pytest plugin: a running fake per test, configured by fixtures or a marker.

Loaded automatically once mockscope is installed (the `pytest11` entry point `mockscope`;
`-p no:mockscope` switches it off); loading it only registers the marker.

Fixtures: `mockscope` (this test's MockServer), `mockscope_server` (the session's shared fake,
one per xdist worker), `mockscope_dashscope` (the official SDK bound to `mockscope`, see
mockscope.sdk), `mockscope_settings` (the options this test's fake was built from), and one
`mockscope_<option>` per option of mockscope.options marked for the marker, to override in a
conftest.py. `@pytest.mark.mockscope(option=...)` on a test, class or module beats those (the
closest marker wins, key by key). A test on the defaults shares the session's fake, reset before
it; any other test gets a fake of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import pytest

from mockscope.options import (
    MARKER_OPTIONS,
    PLUGIN_DEFAULTS,
    Option,
    OptionError,
    PluginOptions,
    build,
    default_of,
)
from mockscope.scenarios.rules import ScenarioError
from mockscope.sdk import DashScopeBinding, bind_dashscope
from mockscope.server import MockServer

__all__ = ["DashScopeBinding", "MockscopeSettings"]

MockscopeSettings = PluginOptions
NAMES = tuple(spec.name for spec in MARKER_OPTIONS)
WHERE = "@pytest.mark.mockscope"
SHARED = PLUGIN_DEFAULTS.server_options()  # what the session's fake is built from


def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"mockscope(**options): configure this test's fake; options: {', '.join(NAMES)}"
    )


def _option_fixture(spec: Option) -> Callable[[], Any]:
    def fixture() -> Any:
        return default_of(spec, "marker")

    fixture.__doc__ = spec.help
    return pytest.fixture(name=f"mockscope_{spec.name}")(fixture)


for _spec in MARKER_OPTIONS:  # mockscope_time, mockscope_limits, ...: override in a conftest.py
    globals()[f"mockscope_{_spec.name}"] = _option_fixture(_spec)


@pytest.fixture
def mockscope_settings(request: pytest.FixtureRequest) -> PluginOptions:
    """This test's options: the `mockscope_<option>` fixtures, then its mockscope markers."""
    declared = {name: request.getfixturevalue(f"mockscope_{name}") for name in NAMES}
    for marker in reversed(list(request.node.iter_markers("mockscope"))):
        if marker.args:
            _fail(f"{WHERE} takes keyword options only (got {marker.args!r}); options: {NAMES}")
        declared.update(marker.kwargs)
    try:
        return build(PluginOptions, WHERE, declared, known=NAMES)
    except OptionError as error:
        problem = str(error)
    except ScenarioError as error:
        problem = f"mockscope option scenario= is malformed: {error}"
    _fail(problem)  # outside the except blocks, so the report is one line, not a chain


@pytest.fixture(scope="session")
def mockscope_server() -> Iterator[MockServer]:
    """The session's shared fake, on the plugin's defaults (one per xdist worker).

    It is not reset between tests by itself: use `mockscope`, which resets it before each test.
    """
    with MockServer(**SHARED.kwargs()) as server:
        yield server


@pytest.fixture
def mockscope(
    request: pytest.FixtureRequest, mockscope_settings: PluginOptions
) -> Iterator[MockServer]:
    """A running fake for this test: `url`, `base_http_api_url`, `clock`, `journal`, ...

    On the default options it is the session's shared fake, reset (tasks, rules, journal, clock,
    limits) before the test; otherwise a fake of the test's own, stopped after it.
    """
    options = mockscope_settings.server_options()
    if options == SHARED:
        shared: MockServer = request.getfixturevalue("mockscope_server")
        shared.reset()  # limits too, should a test have changed them
        yield shared
        shared.check()
        return
    with MockServer(**options.kwargs()) as server:
        yield server
        server.check()


@pytest.fixture
def mockscope_dashscope(
    mockscope: MockServer, mockscope_settings: PluginOptions
) -> Iterator[DashScopeBinding]:
    """The official dashscope SDK bound to this test's fake, restored afterwards.

    Base URL and a key the fake accepts, and (unless `sdk_sleep="real"`, the default only under
    realistic time) polling sleeps that advance the fake's clock: see mockscope.sdk. Skips the
    test when dashscope is not installed.
    """
    try:
        import dashscope  # noqa: F401
        from dashscope.client import base_api  # noqa: F401
    except ImportError as error:
        pytest.skip(
            f"mockscope_dashscope needs the dashscope SDK, which cannot be imported ({error}); "
            "install it with `pip install dashscope`"
        )
    with bind_dashscope(mockscope, sdk_sleep=mockscope_settings.effective_sdk_sleep) as binding:
        yield binding
