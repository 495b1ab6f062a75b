"""Loading the plugin does nothing by itself, and mistakes in the marker say what is wrong."""

from __future__ import annotations

import pytest

QUIET = """
import threading


def test_loading_the_plugin_starts_nothing(request):
    assert request.config.pluginmanager.has_plugin("mockscope")
    assert not [thread for thread in threading.enumerate() if thread.name == "mockscope"]
"""

MISTAKES = """
import pytest


@pytest.mark.mockscope(tme="manual")
def test_unknown_option(mockscope):
    pass


@pytest.mark.mockscope("manual")
def test_positional_option(mockscope):
    pass


@pytest.mark.mockscope(time="slow")
def test_unknown_time(mockscope):
    pass


@pytest.mark.mockscope(api_keys="sk-a")
def test_one_key_as_a_string(mockscope):
    pass


@pytest.mark.mockscope(scenario=["explode; now"])
def test_malformed_scenario(mockscope):
    pass
"""


def test_loading_is_quiet_and_mistakes_are_explained(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naddopts = --strict-markers -p no:cacheprovider\n")
    pytester.makepyfile(test_a_quiet=QUIET, test_b_mistakes=MISTAKES)
    result = pytester.runpytest_subprocess(timeout=120)
    result.assert_outcomes(passed=1, errors=5)
    result.stdout.fnmatch_lines_random(
        [
            "*@pytest.mark.mockscope: unknown option(s) tme; options: time, timing, *",
            "*@pytest.mark.mockscope takes keyword options only*",
            "*mockscope option time= must be 'instant' | 'manual' | 'realistic', got 'slow'*",
            "*mockscope option api_keys= must be a set of key strings or None, got 'sk-a'*",
            "*mockscope: the scenario is malformed: *",
        ]
    )
