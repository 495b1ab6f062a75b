"""The contract suite can fail: against deliberately broken fakes, the relevant tests do.

Each case runs the real suite (a subprocess, as CI would) with its fake target replaced by one
from broken.py, and expects a failure naming the check that caught the breakage. Schemathesis
catches what breaks the schemas; the lifecycle and error tests catch what stays schema-valid
but is wrong (every DashScope operation documents a `default` response, so a wrong status with
a valid envelope passes the schema checks).
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = "contract_tests/test_schemathesis.py"

# (broken fake, what to run, what the failure must say)
CASES = {
    "wrong_status": ([SCHEMATHESIS, "-k", "GET and task_id"], "Response violates schema"),
    "dropped_field": ([SCHEMATHESIS, "-k", "GET and task_id"], "Response violates schema"),
    "server_error": ([SCHEMATHESIS, "-k", "tasks and not task_id"], "Server error"),
    "accepts_invalid": ([SCHEMATHESIS, "-k", "synthesis"], "Schema-violating request accepted"),
    "wrong_content_type": ([SCHEMATHESIS, "-k", "uploads"], "Undocumented Content-Type"),
    "wrong_error_status": (["contract_tests/test_errors_and_limits.py"], "assert 422 == 400"),
    "miscounted_usage": (["contract_tests/test_lifecycle.py"], "usage.image_count"),
}


def _run(fake: str, arguments: list[str], storage: Path) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DASHSCOPE_API_KEY", "MOCKSCOPE_LIVE", "MOCKSCOPE_TARGET")
    }
    env["MOCKSCOPE_CONTRACT_FAKE"] = f"tests.contract_suite.broken:{fake}"
    # Failing examples found here must not be replayed by the real runs of the suite.
    env["HYPOTHESIS_STORAGE_DIRECTORY"] = str(storage / fake)
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:randomly"]
    command += ["--hypothesis-profile=contract-fail-fast", *arguments]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    storage = tmp_path_factory.mktemp("hypothesis")
    # Two at a time: the machine has two cores and each run is mostly CPU.
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {fake: pool.submit(_run, fake, CASES[fake][0], storage) for fake in CASES}
        return {fake: future.result() for fake, future in futures.items()}


@pytest.mark.parametrize("fake", list(CASES))
def test_the_suite_fails_against_a_broken_fake(
    runs: dict[str, subprocess.CompletedProcess[str]], fake: str
) -> None:
    run = runs[fake]
    output = run.stdout + run.stderr
    assert run.returncode == 1, output[-3000:]
    assert "failed" in output
    assert CASES[fake][1] in output, output[-3000:]
