"""The contract suite can fail: against deliberately broken fakes, the relevant tests do.

Each case runs the real suite (in this process, as `python -m pytest` would in a fresh one:
see inprocess.py) with its fake target replaced by one from broken.py, and expects a failure
naming the check that caught the breakage. Schemathesis catches what breaks the schemas; the
lifecycle and error tests catch what stays schema-valid but is wrong (every DashScope operation
documents a `default` response, so a wrong status with a valid envelope passes the schema
checks).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contract_suite.inprocess import run_suite

SCHEMATHESIS = "contract_tests/test_schemathesis.py"
#: Names the factory of the fake target (contract_tests/conftest.py reads it).
FAKE_FACTORY_ENV = "MOCKSCOPE_CONTRACT_FAKE"
#: Limits the operations schemathesis builds tests for (contract_tests/support.py reads it).
OPERATIONS_ENV = "MOCKSCOPE_CONTRACT_OPERATIONS"


def _schemathesis(selection: str, paths: str) -> tuple[list[str], dict[str, str]]:
    """The schemathesis tests `-k selection` picks; only operations whose path matches `paths`
    (a superset of those) are built, and so only their coverage cases."""
    return [SCHEMATHESIS, "-k", selection], {OPERATIONS_ENV: paths}


# (broken fake, (what to run, environment), what the failure must say)
CASES = {
    "wrong_status": (_schemathesis("GET and task_id", "task_id"), "Response violates schema"),
    "dropped_field": (_schemathesis("GET and task_id", "task_id"), "Response violates schema"),
    "server_error": (_schemathesis("tasks and not task_id", "tasks"), "Server error"),
    "accepts_invalid": (
        _schemathesis("synthesis", "synthesis"),
        "Schema-violating request accepted",
    ),
    "wrong_content_type": (_schemathesis("uploads", "uploads"), "Undocumented Content-Type"),
    "wrong_error_status": (
        (["contract_tests/test_errors_and_limits.py"], {}),
        "assert 422 == 400",
    ),
    "miscounted_usage": ((["contract_tests/test_lifecycle.py"], {}), "usage.image_count"),
}


@pytest.mark.parametrize("fake", list(CASES))
def test_the_suite_fails_against_a_broken_fake(fake: str, tmp_path: Path) -> None:
    (arguments, environment), message = CASES[fake]
    # Fail fast: stop at the first failure, and neither shrink nor keep the failing examples
    # (the profile has no example database, so the real runs of the suite never replay them).
    run = run_suite(
        "-x",
        "--hypothesis-profile=contract-fail-fast",
        *arguments,
        basetemp=tmp_path / "run",
        environment={FAKE_FACTORY_ENV: f"tests.contract_suite.broken:{fake}", **environment},
    )
    assert run.returncode == 1, run.output[-3000:]
    assert "failed" in run.output
    assert message in run.output, run.output[-3000:]
