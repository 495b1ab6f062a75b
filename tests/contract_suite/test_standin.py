"""The live path, exercised against a separately started `mockscope serve` standing in for the
service (the live API itself is never called from here).

The stand-ins run ten times faster than real time (`--time-scale 10`, which `mockscope check`
is told too, so it can mirror their timing) and accept only their own key, as the service does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-standin-secret"
SCALE = "10"
MOCKSCOPE = [sys.executable, "-m", "mockscope.cli"]


def _clean_environment(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DASHSCOPE_API_KEY", "MOCKSCOPE_LIVE", "MOCKSCOPE_TARGET")
    }
    env.update(extra)
    return env


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Starts `mockscope serve` stand-ins; returns the URL (`…/api/v1`) of each."""
    started: list[subprocess.Popen[str]] = []

    def start(*rules: dict[str, object], time_scale: str = SCALE, any_key: bool = False) -> str:
        command = [*MOCKSCOPE, "serve", "--port", "0", "--quiet", "--time-scale", time_scale]
        if not any_key:
            command += ["--api-key", KEY]
        if rules:
            scenario = tmp_path / f"scenario-{len(started)}.json"
            scenario.write_text(json.dumps({"rules": list(rules)}))
            command += ["--scenario", str(scenario)]
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


def _run_with_key(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a command from the repository root with only the stand-in's key in its environment."""
    return subprocess.run(
        command,
        cwd=ROOT,
        env=_clean_environment(DASHSCOPE_API_KEY=KEY),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


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
    replayed = subprocess.run(
        [*MOCKSCOPE, "check", "--replay", str(record)], cwd=ROOT, capture_output=True, check=False
    )
    assert replayed.returncode == 0


def test_a_stand_in_that_answers_another_error_code_is_named_in_the_report(
    standin: Callable[..., str], tmp_path: Path
) -> None:
    url = standin(
        {"outcome": "error", "status": 400, "code": "OtherCode", "match": {"operation": "create"}}
    )
    run, report = _check(url, tmp_path)
    assert run.returncode == 1, run.stderr + report
    assert "difference(s)" in report
    assert "| create-a | status | 400 | 200 |" in report
    assert "| create-a | error code | OtherCode | — |" in report
    # What the target could not do, the fake side skipped too: no spurious differences.
    assert (
        "| poll-a | poll the first task until it ends | skipped: no task a was created |" in report
    )


def test_a_stand_in_that_accepts_any_key_shows_as_drift(
    standin: Callable[..., str], tmp_path: Path
) -> None:
    # `mockscope serve` without --api-key takes any key; the service refuses invalid ones.
    run, report = _check(standin(any_key=True), tmp_path, "--budget-images", "0")
    assert run.returncode == 1, run.stderr + report
    assert "| create-bad-key | status | 200 | 401 |" in report
    assert "| get-bad-key | error code | — | InvalidApiKey |" in report


def test_the_contract_suite_runs_live_against_a_stand_in(standin: Callable[..., str]) -> None:
    # Real time passes on the live path; a 20x stand-in keeps each task under two seconds.
    url = standin(time_scale="20")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-rs"]
    command += ["contract_tests/test_errors_and_limits.py", "contract_tests/test_lifecycle.py"]
    command += ["contract_tests/test_model.py", "--target", "live", "--base-url", url]
    command += ["--live-opt-in", "--live-budget-images", "1"]
    run = _run_with_key(command)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert re.search(r"\b\d+ passed, \d+ skipped in", output), output[-2000:]
    assert "failed" not in output
    assert "contract suite, live: 1 of 1 billable image(s) used" in output
    assert "fake only: it exceeds the live rate limit on purpose" in output
    assert "fake only: it moves the service's clock" in output
