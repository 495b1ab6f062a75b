"""The pytest plugin: a running fake per test, configured by fixtures or a marker.

Loaded automatically once mockscope is installed (the `pytest11` entry point `mockscope`;
`-p no:mockscope` switches it off). Loading it only registers the marker: no server starts
until a test asks for one of the fixtures.

Fixtures
    `mockscope`            the fake for this test (a MockServer), reset before the test
    `mockscope_server`     the session's shared fake (one per xdist worker)
    `mockscope_dashscope`  points the official dashscope SDK at `mockscope` for the test
    `mockscope_settings`   the configuration this test's fake was built from

Configuration, from lowest to highest precedence: the defaults below, the fixtures
`mockscope_time`, `mockscope_timing`, `mockscope_limits`, `mockscope_api_keys`,
`mockscope_accounts`, `mockscope_seed`, `mockscope_scenario`, `mockscope_sdk_sleep` (override
them in a conftest.py), then `@pytest.mark.mockscope(time=..., scenario=..., ...)` on the test,
its class or its module (the closest wins, key by key).

A test whose configuration equals the defaults shares the session's fake, reset before it; any
other test gets a fake of its own for its duration (starting one takes a millisecond or two), so
nothing one test configures can leak into another.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from types import ModuleType
from typing import Any, Literal, NoReturn

import pytest

from mockscope.domain.accounts import AccountSpec
from mockscope.domain.clock import Clock, ManualClock, SystemClock
from mockscope.domain.lifecycle import Timing
from mockscope.domain.ratelimit import Limits
from mockscope.scenarios.rules import ScenarioError
from mockscope.server import MockServer

__all__ = ["DashScopeBinding", "MockscopeSettings"]

TimeMode = Literal["instant", "manual", "realistic"]
SdkSleep = Literal["virtual", "real"]

TIME_MODES: tuple[TimeMode, ...] = ("instant", "manual", "realistic")
SDK_SLEEPS: tuple[SdkSleep, ...] = ("virtual", "real")
#: The key the dashscope SDK gets when none is set and the fake accepts any key.
DEFAULT_API_KEY = "sk-mockscope"

MARKER_HELP = (
    "mockscope(**options): configure this test's mockscope fake. Options: "
    "time='instant'|'manual'|'realistic', timing=Timing(...), limits=Limits(...), "
    "api_keys={...}, accounts=[AccountSpec(...)], seed=int, scenario=[rules], "
    "sdk_sleep='virtual'|'real'."
)


@dataclass(frozen=True)
class MockscopeSettings:
    """Everything a test's fake is built from.

    `time` picks the clock and the default timing: "instant" (the wall clock, every task
    finished at its first read), "manual" (a ManualClock that moves only on `clock.advance`,
    live-like timing) or "realistic" (the wall clock, live-like timing: ~27 s per task).
    `timing` replaces the timing `time` implies. `sdk_sleep` says whether the dashscope SDK's
    polling sleeps advance the fake's clock ("virtual") or really sleep ("real"); by default
    they are virtual except under realistic time.
    """

    time: TimeMode = "instant"
    timing: Timing | None = None
    limits: Limits = field(default_factory=Limits)
    api_keys: frozenset[str] | None = None
    accounts: tuple[AccountSpec, ...] = ()
    seed: int | None = None
    scenario: Any = None
    sdk_sleep: SdkSleep | None = None

    @property
    def effective_timing(self) -> Timing:
        if self.timing is not None:
            return self.timing
        return Timing.instant() if self.time == "instant" else Timing()

    @property
    def effective_sdk_sleep(self) -> SdkSleep:
        if self.sdk_sleep is not None:
            return self.sdk_sleep
        return "real" if self.time == "realistic" else "virtual"

    def server_key(self) -> tuple[object, ...]:
        """What the server is built from; two settings with equal keys may share a server."""
        return (
            self.time,
            self.effective_timing,
            self.limits,
            self.api_keys,
            self.accounts,
            self.seed,
            self.scenario,
        )

    def new_clock(self) -> Clock:
        return ManualClock() if self.time == "manual" else SystemClock()

    def build_server(self) -> MockServer:
        """A MockServer (not yet started) built from these settings."""
        try:
            return MockServer(
                clock=self.new_clock(),
                timing=self.effective_timing,
                limits=self.limits,
                api_keys=self.api_keys,
                accounts=self.accounts or None,
                scenario=self.scenario,
                seed=self.seed,
            )
        except ScenarioError as error:
            problem = str(error)
        # Outside the except block, so the report is the one line, not a chain of two.
        pytest.fail(f"mockscope: the scenario is malformed: {problem}", pytrace=False)

    def sdk_api_key(self) -> str:
        """A key the fake accepts, for an SDK that has none."""
        if self.api_keys:
            return sorted(self.api_keys)[0]
        for account in self.accounts:
            if account.api_keys:
                return account.api_keys[0]
        return DEFAULT_API_KEY


DEFAULTS = MockscopeSettings()


# -- checking what users declare -----------------------------------------------------------------


def _bad(option: str, expected: str, value: object) -> NoReturn:
    pytest.fail(f"mockscope option {option}= must be {expected}, got {value!r}", pytrace=False)


def _normalise(option: str, value: Any) -> Any:
    """The settings value for one option, or pytest.fail with what is wrong with it."""
    if option == "time":
        if value not in TIME_MODES:
            _bad("time", " | ".join(map(repr, TIME_MODES)), value)
        return value
    if option == "sdk_sleep":
        if value is not None and value not in SDK_SLEEPS:
            _bad("sdk_sleep", "'virtual' | 'real' | None", value)
        return value
    if option == "timing":
        if value is not None and not isinstance(value, Timing):
            _bad("timing", "a mockscope.Timing or None", value)
        return value
    if option == "limits":
        if value is None:
            return Limits()
        if not isinstance(value, Limits):
            _bad("limits", "a mockscope.Limits or None", value)
        return value
    if option == "api_keys":
        if value is None:
            return None
        if isinstance(value, str) or not isinstance(value, Iterable):
            _bad("api_keys", "a set of key strings or None", value)
        keys = frozenset(value)
        if not keys or not all(isinstance(key, str) and key for key in keys):
            _bad("api_keys", "a set of non-empty strings", value)
        return keys
    if option == "accounts":
        if value is None:
            return ()
        accounts = tuple(value) if isinstance(value, Iterable) else (value,)
        if not all(isinstance(account, AccountSpec) for account in accounts):
            _bad("accounts", "a list of mockscope.AccountSpec", value)
        return accounts
    if option == "seed":
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            _bad("seed", "an int or None", value)
        return value
    if option == "scenario":
        if isinstance(value, str):  # one rule on its own is a list of one
            return [value]
        if value is not None and not isinstance(value, Mapping | list | tuple):
            _bad("scenario", "a list of rules, a document or None", value)
        return value
    raise AssertionError(option)  # pragma: no cover


OPTIONS = tuple(option.name for option in fields(MockscopeSettings))


def _marker_options(node: pytest.Item) -> dict[str, Any]:
    """The options of every mockscope marker on the test, the closest winning key by key."""
    options: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers("mockscope"))):
        if marker.args:
            pytest.fail(
                f"@pytest.mark.mockscope takes keyword options only (got {marker.args!r}); "
                f"options: {', '.join(OPTIONS)}",
                pytrace=False,
            )
        unknown = sorted(set(marker.kwargs) - set(OPTIONS))
        if unknown:
            pytest.fail(
                f"@pytest.mark.mockscope: unknown option(s) {', '.join(unknown)}; "
                f"options: {', '.join(OPTIONS)}",
                pytrace=False,
            )
        options.update(marker.kwargs)
    return options


# -- hooks -----------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)


# -- configuration fixtures: override any of them in a conftest.py -------------------------------


@pytest.fixture
def mockscope_time() -> TimeMode:
    """ "instant" (default), "manual" or "realistic": see MockscopeSettings."""
    return "instant"


@pytest.fixture
def mockscope_timing() -> Timing | None:
    """A Timing for every task; None (default) takes the one `mockscope_time` implies."""
    return None


@pytest.fixture
def mockscope_limits() -> Limits:
    """The accounts' limits; the live service's by default (`Limits.unlimited()` for none)."""
    return Limits()


@pytest.fixture
def mockscope_api_keys() -> set[str] | frozenset[str] | None:
    """The only keys accepted; None (default) accepts any non-empty key."""
    return None


@pytest.fixture
def mockscope_accounts() -> Iterable[AccountSpec] | None:
    """Keys and workspaces sharing an account; by default each key is its own account."""
    return None


@pytest.fixture
def mockscope_seed() -> int | None:
    """Seed for task ids, images and scenario draws; None (default) for fresh randomness."""
    return None


@pytest.fixture
def mockscope_scenario() -> Any:
    """Scenario rules in force from the start of each test; None (default) for none."""
    return None


@pytest.fixture
def mockscope_sdk_sleep() -> SdkSleep | None:
    """ "virtual" or "real" SDK polling sleeps; None (default): real only for realistic time."""
    return None


@pytest.fixture
def mockscope_settings(
    request: pytest.FixtureRequest,
    mockscope_time: TimeMode,
    mockscope_timing: Timing | None,
    mockscope_limits: Limits | None,
    mockscope_api_keys: set[str] | frozenset[str] | None,
    mockscope_accounts: Iterable[AccountSpec] | None,
    mockscope_seed: int | None,
    mockscope_scenario: Any,
    mockscope_sdk_sleep: SdkSleep | None,
) -> MockscopeSettings:
    """This test's configuration: the fixtures above, then its mockscope markers."""
    declared: dict[str, Any] = {
        "time": mockscope_time,
        "timing": mockscope_timing,
        "limits": mockscope_limits,
        "api_keys": mockscope_api_keys,
        "accounts": mockscope_accounts,
        "seed": mockscope_seed,
        "scenario": mockscope_scenario,
        "sdk_sleep": mockscope_sdk_sleep,
    }
    declared.update(_marker_options(request.node))
    return replace(
        DEFAULTS, **{option: _normalise(option, value) for option, value in declared.items()}
    )


# -- the fake ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mockscope_server() -> Iterator[MockServer]:
    """The session's shared fake, on the default configuration (one per xdist worker).

    It is not reset between tests by itself: use `mockscope`, which resets it before each test.
    """
    with DEFAULTS.build_server() as server:
        yield server


@pytest.fixture
def mockscope(
    request: pytest.FixtureRequest, mockscope_settings: MockscopeSettings
) -> Iterator[MockServer]:
    """A running fake for this test: `url`, `base_http_api_url`, `clock`, `journal`, ...

    On the default configuration it is the session's shared fake, reset (tasks, rules, journal,
    clock, limits) before the test; otherwise a fake of the test's own, stopped after it.
    """
    if mockscope_settings.server_key() == DEFAULTS.server_key():
        shared: MockServer = request.getfixturevalue("mockscope_server")
        shared.reset()
        if shared.backend.limits != DEFAULTS.limits:  # a test changed them by hand
            shared.backend.set_limits(DEFAULTS.limits)
        yield shared
        return
    with mockscope_settings.build_server() as server:
        yield server


# -- the official dashscope SDK ----------------------------------------------------------------


@dataclass
class DashScopeBinding:
    """What `mockscope_dashscope` set up: the SDK talks to `server` with `api_key`.

    With virtual sleeps (`sdk_sleep == "virtual"`) every sleep of the SDK's polling loop
    advances the fake's clock instead of waiting, and is recorded in `slept`.
    """

    server: MockServer
    api_key: str
    sdk_sleep: SdkSleep
    slept: list[float] = field(default_factory=list)

    @property
    def base_http_api_url(self) -> str:
        return self.server.base_http_api_url


class _VirtualTime:
    """Stands in for the `time` module inside the SDK's polling loop."""

    def __init__(self, clock: Clock, slept: list[float]) -> None:
        self._clock = clock
        self._slept = slept

    def time(self) -> float:
        return self._clock.now_ms() / 1000

    def sleep(self, seconds: float) -> None:
        self._slept.append(seconds)
        self._clock.advance(seconds)


class _VirtualAsyncio:
    """Stands in for `asyncio` inside the SDK's async polling loop: sleeps advance the clock."""

    def __init__(self, clock: Clock, slept: list[float]) -> None:
        self._clock = clock
        self._slept = slept

    async def sleep(self, seconds: float, result: Any = None) -> Any:
        self._slept.append(seconds)
        self._clock.advance(seconds)
        return await asyncio.sleep(0, result)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


def _import_dashscope() -> tuple[ModuleType, ModuleType]:
    try:
        import dashscope
        from dashscope.client import base_api
    except ImportError as error:
        pytest.skip(
            f"mockscope_dashscope needs the dashscope SDK, which cannot be imported ({error}); "
            "install it with `pip install dashscope`"
        )
    return dashscope, base_api


@pytest.fixture
def mockscope_dashscope(
    mockscope: MockServer, mockscope_settings: MockscopeSettings
) -> Iterator[DashScopeBinding]:
    """The official dashscope SDK pointed at this test's fake, restored afterwards.

    Sets `dashscope.base_http_api_url` (read on every call) and `DASHSCOPE_HTTP_BASE_URL` (read
    when dashscope is imported, e.g. in a subprocess); gives the SDK a key the fake accepts if it
    has none (`dashscope.api_key` and `DASHSCOPE_API_KEY`); and, unless the settings say
    `sdk_sleep="real"`, makes the SDK's polling sleeps advance the fake's clock. Skips the test
    when dashscope is not installed.
    """
    dashscope, base_api = _import_dashscope()
    url = mockscope.base_http_api_url
    binding = DashScopeBinding(
        server=mockscope,
        api_key=dashscope.api_key or os.environ.get("DASHSCOPE_API_KEY") or "",
        sdk_sleep=mockscope_settings.effective_sdk_sleep,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DASHSCOPE_HTTP_BASE_URL", url)
        patch.setattr(dashscope, "base_http_api_url", url)
        if not binding.api_key:
            binding.api_key = mockscope_settings.sdk_api_key()
            patch.setenv("DASHSCOPE_API_KEY", binding.api_key)
        if dashscope.api_key != binding.api_key:
            patch.setattr(dashscope, "api_key", binding.api_key)
        if binding.sdk_sleep == "virtual":
            patch.setattr(base_api, "time", _VirtualTime(mockscope.clock, binding.slept))
            patch.setattr(base_api, "asyncio", _VirtualAsyncio(mockscope.clock, binding.slept))
        yield binding
