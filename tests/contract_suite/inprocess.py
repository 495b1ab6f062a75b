"""Runs the contract suite inside this process, as `python -m pytest ...` from the repository
root would in a fresh one.

A child interpreter pays for importing every installed pytest plugin, Hypothesis and
schemathesis on each run (seconds on a busy two-core machine). Here those libraries stay
imported; what a fresh process would have on its own is given to each run instead:

- the suite's own modules (`contract_tests.*`, and the broken fakes) are imported afresh, so
  the run has its own resolved options, its own target and a `@given` that reads the
  Hypothesis profile the run loaded, and they are put back as they were afterwards;
- the environment, the Hypothesis profile, `sys.path` and `sys.meta_path` are restored;
- the terminal output is kept as text, as a child's stdout and stderr would be.

Runs must not overlap (pytest is not re-entrant across threads): call this from tests only.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import hypothesis
import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Variables that would change what the suite targets; a run sees only those it is given.
TARGET_VARIABLES = ("DASHSCOPE_API_KEY", "MOCKSCOPE_LIVE", "MOCKSCOPE_TARGET")
#: What a run started by a test must not inherit from the test's own session.
SESSION_VARIABLES = (
    "PYTEST_ADDOPTS",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_XDIST_TESTRUNUID",
)


@dataclass(frozen=True)
class Run:
    returncode: int
    #: The terminal output, standard output and error together.
    output: str


def _own_module(name: str) -> bool:
    return (
        name == "contract_tests"
        or name.startswith("contract_tests.")
        or name.startswith("tests.contract_suite.broken")
    )


@contextlib.contextmanager
def _as_a_fresh_process(environment: Mapping[str, str]) -> Iterator[None]:
    saved_modules = {name: module for name, module in sys.modules.items() if _own_module(name)}
    saved_environment = dict(os.environ)
    saved_path, saved_meta_path = list(sys.path), list(sys.meta_path)
    profile = hypothesis.settings.get_current_profile_name()
    for name in saved_modules:
        del sys.modules[name]
    for name in (*TARGET_VARIABLES, *SESSION_VARIABLES):
        os.environ.pop(name, None)
    os.environ.update(environment)
    try:
        yield
    finally:
        for name in [name for name in sys.modules if _own_module(name)]:
            del sys.modules[name]
        sys.modules.update(saved_modules)
        os.environ.clear()
        os.environ.update(saved_environment)
        sys.path[:], sys.meta_path[:] = saved_path, saved_meta_path
        hypothesis.settings.load_profile(profile)


def run_suite(*arguments: str, basetemp: Path, environment: Mapping[str, str] = {}) -> Run:
    """`python -m pytest -q <arguments>` from the repository root, serially, in this process.

    Paths in `arguments` are relative to the repository root, as they would be there.
    """
    resolved = [
        str(ROOT / argument) if argument.endswith(".py") else argument for argument in arguments
    ]
    command = ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT)]
    # Serially (not under the test's own xdist), capturing at the sys level only (the test's
    # session owns the file descriptors), with its own temporary directories.
    command += ["-n", "0", "--capture=sys", "--basetemp", str(basetemp), "-q", "-p", "no:randomly"]
    output = io.StringIO()
    with (
        _as_a_fresh_process(environment),
        contextlib.redirect_stdout(output),
        contextlib.redirect_stderr(output),
    ):
        returncode = pytest.main([*command, *resolved])
    return Run(int(returncode), output.getvalue())
