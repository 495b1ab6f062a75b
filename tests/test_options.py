"""The one options model: MockServer's keywords, the marker's and `mockscope serve`'s."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mockscope import (
    BackendConfig,
    JumpingClock,
    Limits,
    ManualClock,
    MockServer,
    SystemClock,
    Timing,
)
from mockscope.options import (
    CLI_OPTIONS,
    MARKER_OPTIONS,
    PLUGIN_DEFAULTS,
    OptionError,
    Options,
    PluginOptions,
    default_of,
    specs,
)
from mockscope.scenarios import reading


@pytest.mark.parametrize(
    ("given", "clock_type", "mode"),
    [
        ({}, SystemClock, "system"),
        ({"time": "jump"}, JumpingClock, "manual"),
        ({"time": "jump", "time_scale": 2}, JumpingClock, "system"),
        ({"time": "manual"}, ManualClock, "manual"),
        ({"time": "realistic", "time_scale": 0}, ManualClock, "manual"),
        ({"time": "realistic", "time_scale": 60}, SystemClock, "system"),
        ({"time": "zero-duration"}, SystemClock, "system"),
    ],
)
def test_time_and_time_scale_pick_the_clock(
    given: dict[str, object], clock_type: type, mode: str
) -> None:
    clock = Options(**given).new_clock()  # type: ignore[arg-type]
    assert type(clock) is clock_type
    assert clock.mode == mode


def test_a_given_clock_wins_and_timing_follows_the_mode() -> None:
    clock = ManualClock()
    assert Options(clock=clock, time="jump").new_clock() is clock
    assert Options(time="zero-duration").backend_config().timing == Timing.instant()
    # None: each model's own live-like timing, from the model catalogue.
    assert Options(time="jump").backend_config().timing is None
    slow = Timing(run_base_ms=60_000)
    assert Options(time="zero-duration", timing=slow).backend_config().timing == slow


def test_options_override_the_config_only_where_given() -> None:
    config = BackendConfig(journal_size=5, seed=3, limits=Limits(concurrency=2))
    built = Options(config=config, api_keys={"sk-a"}).backend_config()
    assert (built.journal_size, built.seed, built.limits.concurrency) == (5, 3, 2)
    assert built.api_keys == frozenset({"sk-a"})
    assert Options(config=config, journal_size=9).backend_config().journal_size == 9


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ({"seed": "x"}, "option seed= must be an int or None, got 'x'"),
        ({"time": "instant"}, "'instant' is gone: use 'jump'"),
        ({"time_scale": -2}, "option time_scale= must be a number >= 0"),
        ({"port": 70_000}, "option port= must be a port number"),
        ({"api_keys": ["sk-a", ""]}, "option api_keys= must be a set of non-empty key strings"),
        ({"limits": {"concurrency": 2}}, "option limits= must be a mockscope.Limits"),
        ({"nope": 1, "zap": 2}, "MockServer: unknown option(s) nope, zap; options: time, "),
    ],
)
def test_a_mistake_is_one_error_naming_the_option(given: dict[str, object], says: str) -> None:
    with pytest.raises(OptionError) as raised:
        MockServer(**given)  # type: ignore[arg-type]
    assert says in str(raised.value)
    assert raised.value.option in str(raised.value)


def test_every_option_is_described_once_and_offered_where_it_says() -> None:
    names = [spec.name for spec in specs(PluginOptions)]
    assert len(names) == len(set(names))
    assert all(spec.help and spec.expected for spec in specs(PluginOptions))
    assert {spec.name for spec in MARKER_OPTIONS} == {
        "time", "time_scale", "start_time", "timing", "limits", "retry_after", "api_keys",
        "accounts", "seed", "scenario", "models", "sdk_sleep",
    }  # fmt: skip
    assert [spec.cli.flag for spec in CLI_OPTIONS if spec.cli] == [
        "--time", "--time-scale", "--start-time", "--retry-after/--no-retry-after", "--api-key",
        "--seed", "--scenario", "--models", "--journal-size", "--host", "--port", "--public-url",
        "--control-token", "--header-timeout", "--keepalive-timeout", "--max-connections",
        "--header-scenarios/--no-header-scenarios",
    ]  # fmt: skip
    time_option = next(spec for spec in MARKER_OPTIONS if spec.name == "time")
    assert [default_of(time_option, where) for where in ("server", "marker", "cli")] == [
        "realistic",
        "jump",
        "realistic",
    ]
    assert PLUGIN_DEFAULTS.server_options() == Options(time="jump")


def test_the_server_keeps_the_options_it_was_built_from() -> None:
    server = MockServer(time="jump", seed=4, scenario="failed")
    assert server.options.seed == 4
    assert server.options.scenario == reading.checked(["failed"])  # read once, kept as rules
    assert isinstance(server.clock, JumpingClock)
    with pytest.raises(TypeError, match="keyword options only"):
        MockServer(Options())  # type: ignore[call-arg]


def test_retry_after_is_an_option_that_turns_it_on_over_any_limits() -> None:
    assert MockServer().limits.retry_after is False
    assert MockServer(retry_after=True).limits == Limits(retry_after=True)
    unlimited = MockServer(retry_after=True, limits=Limits.unlimited()).limits
    assert unlimited == replace(Limits.unlimited(), retry_after=True)
    assert MockServer(limits=Limits(retry_after=True)).limits.retry_after is True
    with pytest.raises(OptionError, match="retry_after"):
        MockServer(retry_after="yes")  # type: ignore[arg-type]
