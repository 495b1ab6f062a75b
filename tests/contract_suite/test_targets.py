"""Choosing the target: the fake by default; live only with a key and an explicit opt-in.

Without either, the live run sends nothing: every test skips with the reason. (The base URLs
here are loopback ports nothing listens on, so a request sent by mistake would fail, not skip.)
The suite runs in this process, as `python -m pytest` would in a fresh one (see inprocess.py);
tests/contract_suite/test_standin.py runs it live in a real child process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from contract_tests.options import ContractOptions
from tests.contract_suite.inprocess import Run, run_suite

NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers there
SUITE_FILE = "contract_tests/test_errors_and_limits.py"


def _pytest(tmp_path: Path, *arguments: str, **environment: str) -> Run:
    return run_suite("-rs", *arguments, basetemp=tmp_path / "run", environment=environment)


def _options(**changes: object) -> ContractOptions:
    values: dict[str, object] = {
        "target": "live",
        "base_url": NOWHERE,
        "api_key": "sk-x",
        "budget_images": 2,
        "opted_in": True,
    }
    values.update(changes)
    return ContractOptions(**values)  # type: ignore[arg-type]


def test_a_live_run_needs_a_key_and_an_opt_in() -> None:
    assert _options().live_refusal == ""
    assert "DASHSCOPE_API_KEY" in _options(api_key="").live_refusal
    assert "opt-in" in _options(opted_in=False).live_refusal
    assert _options(target="fake", api_key="", opted_in=False).live_refusal == ""


def test_without_a_key_the_live_run_skips_everything(tmp_path: Path) -> None:
    run = _pytest(tmp_path, SUITE_FILE, "--target", "live", "--base-url", NOWHERE, "--live-opt-in")
    assert run.returncode == 0, run.output
    assert " passed" not in run.output
    assert "skipped" in run.output
    assert "--target live needs DASHSCOPE_API_KEY" in run.output


def test_without_the_opt_in_the_live_run_skips_everything(tmp_path: Path) -> None:
    run = _pytest(
        tmp_path, SUITE_FILE, "--target", "live", "--base-url", NOWHERE, DASHSCOPE_API_KEY="sk-x"
    )
    assert run.returncode == 0, run.output
    assert " passed" not in run.output
    assert "skipped" in run.output
    assert "needs an explicit opt-in (--live-opt-in or MOCKSCOPE_LIVE=1)" in run.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--base-url", NOWHERE], "--base-url only applies to --target live"),
        (
            ["--target", "live", "--live-budget-images", "-1"],
            "--live-budget-images must not be negative",
        ),
        (["--live-time-scale", "20"], "--live-time-scale only applies to --target live"),
        (["--target", "live", "--live-time-scale", "0"], "--live-time-scale must be positive"),
    ],
    ids=["base-url-without-live", "negative-budget", "time-scale-without-live", "zero-time-scale"],
)
def test_contradictory_options_are_usage_errors(
    arguments: list[str], message: str, tmp_path: Path
) -> None:
    run = _pytest(tmp_path, SUITE_FILE, *arguments)
    assert run.returncode == 4, run.output
    assert f"ERROR: {message}" in run.output, run.output
