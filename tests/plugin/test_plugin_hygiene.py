"""Mistakes in the marker or the option fixtures say what is wrong, naming the option; a server
that reports a failure of its own at teardown fails the test. (That loading the plugin starts
nothing is checked where the plugin is loaded afresh: tests/plugin/test_user_project.py.)"""

from __future__ import annotations

import pytest

from mockscope.options import MARKER_OPTIONS, PLUGIN_DEFAULTS, OptionError, PluginOptions, build
from tests.support import INNER_PYTEST

INI = """
[pytest]
addopts = --strict-markers -p no:cacheprovider
asyncio_default_fixture_loop_scope = function
"""

MISTAKES = """
import pytest


@pytest.mark.mockscope(tme="manual")
def test_unknown_option(mockscope):
    pass


@pytest.mark.mockscope(host="0.0.0.0")
def test_a_server_only_option(mockscope):
    pass


@pytest.mark.mockscope("manual")
def test_positional_option(mockscope):
    pass


@pytest.mark.mockscope(time="slow")
def test_unknown_time(mockscope):
    pass


@pytest.mark.mockscope(time="instant")
def test_the_old_name_of_zero_duration(mockscope):
    pass


@pytest.mark.mockscope(time_scale=-1)
def test_negative_time_scale(mockscope):
    pass


@pytest.mark.mockscope(api_keys="sk-a")
def test_one_key_as_a_string(mockscope):
    pass


@pytest.mark.mockscope(scenario=["explode; now"])
def test_malformed_scenario(mockscope):
    pass


class TestAFixtureOverride:
    @pytest.fixture
    def mockscope_seed(self):
        return "seven"

    def test_a_bad_fixture_value(self, mockscope):
        pass


def test_a_server_side_failure_fails_at_teardown(monkeypatch, mockscope):
    def check(server):
        raise AssertionError("mockscope saw a server-side failure")

    monkeypatch.setattr(type(mockscope), "check", check, raising=False)


def test_a_good_one(mockscope):
    assert mockscope.clock.jumps
"""


def test_mistakes_are_explained(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_mistakes=MISTAKES)
    result = pytester.runpytest_inprocess(*INNER_PYTEST)
    result.assert_outcomes(passed=2, errors=10)
    result.stdout.fnmatch_lines_random(
        [
            "*@pytest.mark.mockscope: unknown option(s) tme; options: time, time_scale, *",
            "*@pytest.mark.mockscope: unknown option(s) host; options: *",
            "*@pytest.mark.mockscope takes keyword options only*",
            "*mockscope option time= must be 'jump' | 'manual' | 'realistic' | 'zero-duration'"
            ", got 'slow'",
            "*mockscope option time= must be * got 'instant' ('instant' is gone: use 'jump'*",
            "*mockscope option time_scale= must be a number >= 0 or None, got -1",
            "*mockscope option api_keys= must be a set of non-empty key strings or None, *'sk-a'",
            "*mockscope option scenario= is malformed: *",
            "*mockscope option seed= must be an int or None, got 'seven'",
            "*AssertionError: mockscope saw a server-side failure",
        ]
    )


def test_every_marker_option_has_a_fixture_and_help() -> None:
    import mockscope.pytest_plugin as plugin

    for spec in MARKER_OPTIONS:
        assert hasattr(plugin, f"mockscope_{spec.name}"), spec.name
        assert spec.help, spec.name
        assert spec.expected, spec.name
    assert PLUGIN_DEFAULTS.time == "jump"
    assert PLUGIN_DEFAULTS.effective_sdk_sleep == "virtual"
    with pytest.raises(OptionError, match="unknown option"):
        build(PluginOptions, "here", {"port": 1}, known=[spec.name for spec in MARKER_OPTIONS])
