"""Command-line options of the contract suite, as a pytest plugin.

pytest honours `pytest_addoption` only in plugins and in the conftest files it loads at start-up
(those of the rootdir and of the directories named on the command line). A conftest in
contract_tests/ would therefore register the options for `pytest contract_tests` but not for
`pytest tests/x.py --target fake`, and a top-level conftest.py would be imported by every test
run and every tool that walks the tree. This module is loaded explicitly instead, through
`-p contract_tests.options` in pyproject's `addopts`: the options exist for every run started
from the repository, whatever paths it names, and nothing else is imported with them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest

LIVE_BASE_URL = "https://dashscope.aliyuncs.com"
DEFAULT_BUDGET_IMAGES = 2


@dataclass(frozen=True)
class ContractOptions:
    """What the suite runs against, as resolved from options and environment."""

    target: str  # "fake" or "live"
    base_url: str
    api_key: str
    budget_images: int
    opted_in: bool
    #: Target seconds per real second: 1 for the service, N for a `serve --time-scale N`
    #: stand-in (pacing, polling and Retry-After waits are then N times shorter in real time).
    time_scale: float = 1.0

    @property
    def live_refusal(self) -> str:
        """Why the live run may not start ("" when it may)."""
        if self.target != "live":
            return ""
        if not self.api_key:
            return "--target live needs DASHSCOPE_API_KEY"
        if not self.opted_in:
            return (
                "--target live needs an explicit opt-in (--live-opt-in or MOCKSCOPE_LIVE=1): "
                f"it may bill up to {self.budget_images} image(s)"
            )
        return ""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract", "mockscope contract suite (contract_tests/)")
    group.addoption(
        "--target",
        choices=("fake", "live"),
        default=None,
        help="Run the contract suite against an in-process fake (default) or the live API "
        "(env MOCKSCOPE_TARGET).",
    )
    group.addoption(
        "--base-url",
        default=None,
        help="With --target live: the API's root, with or without /api/v1 (env "
        f"MOCKSCOPE_LIVE_BASE_URL; default {LIVE_BASE_URL}).",
    )
    group.addoption(
        "--live-budget-images",
        type=int,
        default=None,
        help=f"With --target live: at most this many billable images per run "
        f"(default {DEFAULT_BUDGET_IMAGES}); tests that need more are skipped.",
    )
    group.addoption(
        "--live-time-scale",
        type=float,
        default=None,
        help="With --target live: the target's seconds per real second (default 1, the service); "
        "for a stand-in started with `mockscope serve --time-scale N`, pass N.",
    )
    group.addoption(
        "--live-opt-in",
        action="store_true",
        default=False,
        help="Allow --target live to call the service (also MOCKSCOPE_LIVE=1); without it the "
        "live tests skip and nothing is sent.",
    )


def resolve(config: pytest.Config) -> ContractOptions:
    target = config.getoption("--target") or os.environ.get("MOCKSCOPE_TARGET", "fake")
    if target not in ("fake", "live"):
        raise pytest.UsageError(f"MOCKSCOPE_TARGET must be fake or live, not {target!r}")
    base_url = config.getoption("--base-url") or os.environ.get("MOCKSCOPE_LIVE_BASE_URL", "")
    budget = config.getoption("--live-budget-images")
    if budget is None:
        budget = DEFAULT_BUDGET_IMAGES
    if budget < 0:
        raise pytest.UsageError("--live-budget-images must not be negative")
    opted_in = bool(config.getoption("--live-opt-in")) or os.environ.get("MOCKSCOPE_LIVE") == "1"
    time_scale = config.getoption("--live-time-scale")
    if time_scale is not None and not time_scale > 0:
        raise pytest.UsageError("--live-time-scale must be positive")
    return ContractOptions(
        target=target,
        base_url=base_url or LIVE_BASE_URL,
        api_key=os.environ.get("DASHSCOPE_API_KEY", "") if target == "live" else "",
        budget_images=budget,
        opted_in=opted_in,
        time_scale=1.0 if time_scale is None else time_scale,
    )


def pytest_configure(config: pytest.Config) -> None:
    options = resolve(config)
    if options.target == "fake":
        for option in ("--base-url", "--live-time-scale"):
            if config.getoption(option) is not None:
                raise pytest.UsageError(f"{option} only applies to --target live")
    config.stash[OPTIONS_KEY] = options
    _resolved[:] = [options]
    if options.target == "live":
        _run_serially(config)


def _run_serially(config: pytest.Config) -> None:
    """Live, the run is one process whatever `-n` says (pyproject's addopts ask for xdist): one
    image budget and one pacer for the whole run, as each xdist worker would have its own.

    xdist starts its workers from its own pytest_configure, which runs last; until then, its
    resolved options can still be turned back to a serial run.
    """
    if getattr(config.option, "dist", "no") != "no" or getattr(config.option, "tx", None):
        config.option.dist = "no"
        config.option.tx = []
        config.option.numprocesses = 0


_resolved: list[ContractOptions] = []


def current_options() -> ContractOptions | None:
    """The options of the running session (for code that has no `config` at hand)."""
    return _resolved[0] if _resolved else None


def pytest_report_header(config: pytest.Config) -> str | None:
    options = config.stash.get(OPTIONS_KEY, None)
    if options is None or options.target == "fake":
        return None
    refusal = options.live_refusal
    if refusal:
        return f"contract suite: live target refused, live tests will skip ({refusal})"
    scale = "" if options.time_scale == 1 else f", time scale {options.time_scale:g}"
    return (
        f"contract suite: LIVE target {options.base_url}{scale}, "
        f"budget {options.budget_images} billable image(s), one process (no xdist workers)"
    )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    budget = config.stash.get(BUDGET_KEY, None)
    if budget is not None:
        terminalreporter.write_line(
            f"contract suite, live: {budget.spent} of {budget.limit} billable image(s) used; "
            f"{budget.refused} billable request(s) not sent (over budget)"
        )


OPTIONS_KEY = pytest.StashKey[ContractOptions]()
#: The live run's image budget (contract_tests.support.Budget), for the summary.
BUDGET_KEY = pytest.StashKey[Any]()
