"""The live path, exercised against a stand-in for the service (the live API itself is never
called from here).

The stand-ins run ten times faster than real time (`--time-scale 10`, which `mockscope check`
is told too, so it can mirror their timing) and accept only their own key, as the service does.
One test per entry point runs as a user would: a separately started `mockscope serve`, and
`mockscope check` or the contract suite in a child process. The others differ only in what the
stand-in answers, so the stand-in is an in-process MockServer built as `serve` builds it and
`mockscope check` runs in-process (click's CliRunner).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mockscope import MockServer, SystemClock
from mockscope.cli import main
from tests.contract_suite.inprocess import SESSION_VARIABLES, TARGET_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-standin-secret"
SCALE = "10"
MOCKSCOPE = [sys.executable, "-m", "mockscope.cli"]


def _clean_environment(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in (*TARGET_VARIABLES, *SESSION_VARIABLES)
    }
    env.update(extra)
    return env


@pytest.fixture
def standin() -> Iterator[Callable[..., str]]:
    """Starts `mockscope serve --api-key KEY` stand-ins; returns the URL (`…/api/v1`) of each."""
    started: list[subprocess.Popen[str]] = []

    def start(time_scale: str = SCALE) -> str:
        command = [*MOCKSCOPE, "serve", "--port", "0", "--quiet", "--time-scale", time_scale]
        command += ["--api-key", KEY]
        process = subprocess.Popen(
            command, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=_clean_environment()
        )
        started.append(process)
        assert process.stderr is not None
        for line in process.stderr:
            found = re.search(r"serving the DashScope API at (\S+)", line)
            if found:
                # Keep reading its log, so that a full pipe never stalls the stand-in.
                threading.Thread(target=process.stderr.read, daemon=True).start()
                return found.group(1)
        raise AssertionError(f"the stand-in did not start (exit {process.wait()})")

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


def _run_with_key(command: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    """Run a command from the repository root with only the stand-in's key in its environment."""
    return subprocess.run(
        command,
        cwd=ROOT,
        env=_clean_environment(DASHSCOPE_API_KEY=KEY, **extra),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def inprocess_standin() -> Iterator[Callable[..., str]]:
    """In-process stand-ins, built as `mockscope serve --time-scale 10 --api-key KEY
    [--scenario rules]` builds its server; returns the URL (`…/api/v1`) of each."""
    with contextlib.ExitStack() as running:

        def start(*rules: dict[str, object], any_key: bool = False) -> str:
            server = MockServer(
                clock=SystemClock(float(SCALE)),
                api_keys=None if any_key else {KEY},
                scenario={"rules": list(rules)} if rules else None,
            )
            return running.enter_context(server).base_http_api_url

        yield start


def _check_inprocess(url: str, tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    """`mockscope check` against a target, in this process; (exit code, output, report)."""
    report = tmp_path / "drift.md"
    arguments = ["check", "--target", "live", "--base-url", url, "--live-opt-in"]
    arguments += ["--time-scale", SCALE, "--report", str(report), *extra]
    environment = {name: None for name in ("MOCKSCOPE_LIVE", "MOCKSCOPE_LIVE_BASE_URL")}
    result = CliRunner().invoke(main, arguments, env={**environment, "DASHSCOPE_API_KEY": KEY})
    return result.exit_code, result.output, report.read_text() if report.exists() else ""


def _check(url: str, tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], str]:
    report = tmp_path / "drift.md"
    command = [*MOCKSCOPE, "check", "--target", "live", "--base-url", url, "--live-opt-in"]
    command += ["--time-scale", SCALE, "--report", str(report), *extra]
    run = _run_with_key(command)
    return run, report.read_text() if report.exists() else ""


def test_a_faithful_stand_in_gives_a_report_without_drift(
    standin: Callable[..., str], tmp_path: Path
) -> None:
    record = tmp_path / "exchanges.jsonl"
    run, report = _check(standin(), tmp_path, "--record", str(record))
    assert run.returncode == 0, run.stderr + report
    assert "**no drift**" in report
    assert "| poll-a | poll the first task until it ends | 200 RUNNING → SUCCEEDED |" in report
    assert "| cancel-b | cancel the queued (PENDING) task | 200 | 200 |" in report
    assert "billable images: at most 2 of a budget of 2" in report
    recorded = record.read_text()
    assert KEY not in recorded
    assert KEY not in report
    assert '"Authorization": "Bearer <redacted>"' in recorded
    replayed = CliRunner().invoke(main, ["check", "--replay", str(record)])
    assert replayed.exit_code == 0, replayed.output


def test_a_stand_in_that_answers_another_error_code_is_named_in_the_report(
    inprocess_standin: Callable[..., str], tmp_path: Path
) -> None:
    url = inprocess_standin(
        {"outcome": "error", "status": 400, "code": "OtherCode", "match": {"operation": "create"}}
    )
    exit_code, output, report = _check_inprocess(url, tmp_path)
    assert exit_code == 1, output + report
    assert "difference(s)" in report
    assert "| create-a | status | 400 | 200 |" in report
    assert "| create-a | error code | OtherCode | — |" in report
    # What the target could not do, the fake side skipped too: no spurious differences.
    assert (
        "| poll-a | poll the first task until it ends | skipped: no task a was created |" in report
    )


def test_a_stand_in_that_accepts_any_key_shows_as_drift(
    inprocess_standin: Callable[..., str], tmp_path: Path
) -> None:
    # `mockscope serve` without --api-key takes any key; the service refuses invalid ones.
    exit_code, output, report = _check_inprocess(
        inprocess_standin(any_key=True), tmp_path, "--budget-images", "0"
    )
    assert exit_code == 1, output + report
    assert "| create-bad-key | status | 200 | 401 |" in report
    assert "| get-bad-key | error code | — | InvalidApiKey |" in report


def test_the_contract_suite_runs_live_against_a_stand_in(standin: Callable[..., str]) -> None:
    # Real time passes on the live path: a 20x stand-in keeps each task under two seconds, and
    # told so, the suite paces and waits 20 times less in real time.
    url = standin(time_scale="20")
    # pyproject's addopts name the plugins the suite needs (nothing else is autoloaded).
    command = [sys.executable, "-m", "pytest", "-p", "no:randomly", "-rs"]
    command += ["contract_tests/test_errors_and_limits.py", "contract_tests/test_lifecycle.py"]
    command += ["contract_tests/test_model.py", "--target", "live", "--base-url", url]
    command += ["--live-opt-in", "--live-budget-images", "1", "--live-time-scale", "20"]
    # pyproject's addopts ask for xdist workers: live, the suite runs in one process anyway.
    run = _run_with_key(command)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    header = f"contract suite: LIVE target {url}, time scale 20, "
    assert header + "budget 1 billable image(s), one process (no xdist workers)" in output
    assert not re.search(r"\d+ workers \[\d+ items?\]", output), output[-2000:]
    assert re.search(r"\b\d+ passed, \d+ skipped in", output), output[-2000:]
    assert "failed" not in output
    assert "contract suite, live: 1 of 1 billable image(s) used" in output
    assert "fake only: it exceeds the live rate limit on purpose" in output
    assert "fake only: it moves the service's clock" in output
