"""Choosing the target: the fake by default; live only with a key and an explicit opt-in.

Without either, the live run sends nothing: every test skips with the reason. (The base URLs
here are loopback ports nothing listens on, so a request sent by mistake would fail, not skip.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from contract_tests.options import ContractOptions

ROOT = Path(__file__).resolve().parents[2]
NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers there
SUITE_FILE = "contract_tests/test_errors_and_limits.py"


def _pytest(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DASHSCOPE_API_KEY", "MOCKSCOPE_LIVE", "MOCKSCOPE_TARGET")
    }
    env.update(environment)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:randomly", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


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


def test_without_a_key_the_live_run_skips_everything() -> None:
    run = _pytest(SUITE_FILE, "--target", "live", "--base-url", NOWHERE, "--live-opt-in")
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" not in run.stdout
    assert "skipped" in run.stdout
    assert "--target live needs DASHSCOPE_API_KEY" in run.stdout


def test_without_the_opt_in_the_live_run_skips_everything() -> None:
    run = _pytest(SUITE_FILE, "--target", "live", "--base-url", NOWHERE, DASHSCOPE_API_KEY="sk-x")
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" not in run.stdout
    assert "needs an explicit opt-in (--live-opt-in or MOCKSCOPE_LIVE=1)" in run.stdout


@pytest.mark.parametrize(
    "arguments",
    [["--base-url", NOWHERE], ["--target", "live", "--live-budget-images", "-1"]],
    ids=["base-url-without-live", "negative-budget"],
)
def test_contradictory_options_are_usage_errors(arguments: list[str]) -> None:
    run = _pytest(SUITE_FILE, *arguments)
    assert run.returncode == 4, run.stdout + run.stderr
